-- Schema 4: what the admins did in the web console (`inboxsync org
-- console`): who, what, to which mailbox, from where. Never a secret.
CREATE TABLE admin_actions (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    admin   text NOT NULL,
    action  text NOT NULL,
    mailbox text NOT NULL DEFAULT '',
    remote  text NOT NULL DEFAULT '',
    outcome text NOT NULL DEFAULT ''
);
CREATE INDEX admin_actions_at ON admin_actions (at);
-- The console searches mailboxes by part of the address.
CREATE INDEX mailboxes_address_pattern ON mailboxes (address text_pattern_ops);
