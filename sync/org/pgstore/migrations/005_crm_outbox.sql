-- Schema 5: the organisation's CRM outbox (issue 21). An item's CRM state
-- is derived where it can be: an item without a row here, not deleted,
-- timed in the connection's history window (or stored after the
-- connection was made), is pending; a row records the outcome for the
-- version of the item it was decided on (item_rev, item_deleted), so
-- that an item changed since is offered again without ApplyPage
-- writing anything here. people: the CRM people a logged item was
-- logged to (JSON), for the whole-thread rule.
CREATE TABLE crm_items (
    item         bigint PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    mailbox_id   bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    item_rev     integer NOT NULL,
    item_deleted boolean NOT NULL,
    state        text NOT NULL CHECK (state IN ('pending', 'logged', 'skipped', 'failed')),
    record_id    text NOT NULL DEFAULT '',
    object       text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    rule         text NOT NULL DEFAULT '',
    people       text NOT NULL DEFAULT '',
    conversation_id text NOT NULL DEFAULT '',   -- the item's, kept for the thread rule
    retryable    boolean NOT NULL DEFAULT false,
    attempts     integer NOT NULL DEFAULT 0,
    saved_at     timestamptz NOT NULL
);
CREATE INDEX crm_items_mailbox ON crm_items (mailbox_id, state);
-- The whole-thread rule looks up the logged items of a mailbox's
-- conversations: indexed here, among the logged rows, not on items (whose
-- every insert would pay for it).
CREATE INDEX crm_items_thread ON crm_items (mailbox_id, conversation_id) WHERE state = 'logged' AND people <> '';
