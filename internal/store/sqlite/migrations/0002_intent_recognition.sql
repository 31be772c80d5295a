-- What Concord needs to recognise the outcome of a write whose answer was
-- lost: for an insert, the content hash of the fields it sent; for an
-- update, the record and the field values it sent.
ALTER TABLE intents ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE intents ADD COLUMN record_id TEXT NOT NULL DEFAULT '';
ALTER TABLE intents ADD COLUMN fields TEXT NOT NULL DEFAULT '';
