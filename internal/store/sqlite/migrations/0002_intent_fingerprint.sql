-- The content hash of the fields an insert sent, so that the record it
-- created can be recognised when the answer to the insert was lost.
ALTER TABLE intents ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
