-- Schema 6: how each mailbox's last CRM run went (organisation mode's
-- Salesforce logging): the Salesforce user it logs as, why it logs
-- nothing (no user, the user refused, the API budget), when it ran and
-- how many API requests it took. Never a token.
CREATE TABLE crm_mailboxes (
    mailbox_id bigint PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    username   text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    last_run   timestamptz NOT NULL,
    requests   bigint NOT NULL DEFAULT 0
);
