-- Schema 2: the email notices of organisation mode (sync/emailnotice's
-- queue). One open incident per account at most (the unique index makes
-- opening one atomic for many workers); account is a mailbox address or
-- "@org:PROVIDER" (the organisation's credentials refused). Not keyed to
-- mailboxes by a foreign key: an organisation incident has no mailbox;
-- RemoveMailboxes deletes a removed mailbox's incidents itself.
CREATE TABLE incidents (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account   text NOT NULL CHECK (account <> ''),
    state     text NOT NULL,
    reason    text NOT NULL DEFAULT '',
    opened_at timestamptz NOT NULL,
    closed_at timestamptz
);
CREATE UNIQUE INDEX incidents_open ON incidents (account) WHERE closed_at IS NULL;

-- An email queued for one recipient; never holds a secret.
CREATE TABLE notices (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident     bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    account      text NOT NULL,
    kind         text NOT NULL,
    recipient    text NOT NULL,
    subject      text NOT NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dropped')),
    attempts     integer NOT NULL DEFAULT 0,
    -- When it may be tried next; a worker that takes it moves this past
    -- its lease, so that no other worker sends it meanwhile.
    next_attempt timestamptz,
    last_error   text NOT NULL DEFAULT '',
    done_at      timestamptz
);
CREATE INDEX notices_due ON notices (next_attempt, id) WHERE state = 'pending';
CREATE INDEX notices_account ON notices (account, id);
