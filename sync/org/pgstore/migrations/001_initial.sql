-- Schema 1 of the organisation store (sync/org/pgstore). Steps are only
-- ever appended; a released step never changes. Times are timestamptz
-- (microseconds), NULL for "never"; secrets never go in any table.

-- A mailbox of the organisation; address (lowercased) is its account ID.
CREATE TABLE mailboxes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address     text NOT NULL UNIQUE CHECK (address <> '' AND address = lower(address)),
    provider    text NOT NULL CHECK (provider IN ('office365', 'gmail')),
    enabled     boolean NOT NULL DEFAULT true,
    error       boolean NOT NULL DEFAULT false,
    reason      text NOT NULL DEFAULT '',
    rejections  integer NOT NULL DEFAULT 0,
    failures    integer NOT NULL DEFAULT 0,
    last_sync   timestamptz,
    last_try    timestamptz,
    next_sync   timestamptz NOT NULL,
    sync_asked  timestamptz,
    added       timestamptz NOT NULL DEFAULT now(),
    -- The count of its items not deleted, kept by ApplyPage in the page's
    -- transaction (listing 1,000 mailboxes must not count 300,000 rows).
    live_items  bigint NOT NULL DEFAULT 0 CHECK (live_items >= 0)
);
-- The scheduler's question: enabled mailboxes without an error, by next_sync.
CREATE INDEX mailboxes_due ON mailboxes (next_sync) WHERE enabled AND NOT error;

-- A synced mail or event, unique per mailbox + folder + provider id.
CREATE TABLE items (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox_id      bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    folder          text NOT NULL,
    provider_id     text NOT NULL,
    kind            text NOT NULL DEFAULT '',
    message_id      text NOT NULL DEFAULT '',
    conversation_id text NOT NULL DEFAULT '',
    subject         text NOT NULL DEFAULT '',
    from_addr       text NOT NULL DEFAULT '',
    to_addrs        text[] NOT NULL DEFAULT '{}',
    cc_addrs        text[] NOT NULL DEFAULT '{}',
    time            timestamptz,
    preview         text NOT NULL DEFAULT '',
    start_time      timestamptz,
    end_time        timestamptz,
    location        text NOT NULL DEFAULT '',
    organizer       text NOT NULL DEFAULT '',
    attendees       text[] NOT NULL DEFAULT '{}',
    hash            bigint NOT NULL,
    rev             integer NOT NULL DEFAULT 1,
    deleted         boolean NOT NULL DEFAULT false,
    full_sync_gen   bigint NOT NULL DEFAULT 0,
    first_seen      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (mailbox_id, folder, provider_id)
);
-- The live items of a mailbox in order (Items of one mailbox).
CREATE INDEX items_live ON items (mailbox_id, id) WHERE NOT deleted;

-- The cursor of (mailbox, folder), written in the transaction of its page.
CREATE TABLE cursors (
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    folder     text NOT NULL,
    cursor     text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (mailbox_id, folder)
);

-- The running or last full sync of (mailbox, folder).
CREATE TABLE full_syncs (
    mailbox_id  bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    folder      text NOT NULL,
    gen         bigint NOT NULL,
    active      boolean NOT NULL,
    window_from timestamptz,
    window_to   timestamptz,
    started_at  timestamptz NOT NULL,
    PRIMARY KEY (mailbox_id, folder)
);

-- One sync session of a mailbox.
CREATE TABLE sessions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    trigger_by text NOT NULL,
    start_time timestamptz NOT NULL,
    end_time   timestamptz,
    outcome    text NOT NULL,
    added      integer NOT NULL DEFAULT 0,
    updated    integer NOT NULL DEFAULT 0,
    removed    integer NOT NULL DEFAULT 0,
    error      text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_mailbox ON sessions (mailbox_id, start_time DESC, id DESC);
CREATE INDEX sessions_start ON sessions (start_time DESC, id DESC);

-- A per-item problem a page reported (a log: never upserted).
CREATE TABLE issues (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox_id  bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    provider_id text NOT NULL,
    folder      text NOT NULL,
    message     text NOT NULL,
    time        timestamptz NOT NULL
);
CREATE INDEX issues_mailbox ON issues (mailbox_id, id);

-- Non-secret organisation configuration: JSON text by key.
CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
