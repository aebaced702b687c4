-- Schema 3: what the CRM rules read (issue 20): an item's sensitivity mark
-- ('' is normal) and its categories (Exchange, Office 365) or label names
-- (Gmail).
ALTER TABLE items ADD COLUMN sensitivity text NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN categories text[] NOT NULL DEFAULT '{}';
