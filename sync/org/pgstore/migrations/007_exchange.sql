-- Schema 7: Exchange on-premises mailboxes, read by a service account with
-- Exchange's ApplicationImpersonation role (docs/org.md). The service
-- account's password is never stored: the settings name its file or
-- environment value.
ALTER TABLE mailboxes DROP CONSTRAINT mailboxes_provider_check;
ALTER TABLE mailboxes ADD CONSTRAINT mailboxes_provider_check
    CHECK (provider IN ('office365', 'gmail', 'exchange'));
