-- Schema 8: an item's mailbox is checked once per page, not once per row.
-- The foreign key from items to mailboxes ran a check (a SELECT … FOR KEY
-- SHARE of the mailbox's row) for every item inserted: a quarter of the
-- cost of storing a page. ApplyPage, the only writer of items, now locks
-- its mailbox's row FOR KEY SHARE once, before it writes, so a mailbox is
-- never removed under a page (the removal waits for the page, or the page
-- finds no mailbox). Removing a mailbox still removes its items in the same
-- statement: this trigger does what ON DELETE CASCADE did.
ALTER TABLE items DROP CONSTRAINT items_mailbox_id_fkey;

CREATE FUNCTION remove_mailbox_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM items WHERE mailbox_id = OLD.id;
    RETURN OLD;
END
$$;

CREATE TRIGGER mailboxes_remove_items AFTER DELETE ON mailboxes
    FOR EACH ROW EXECUTE FUNCTION remove_mailbox_items();
