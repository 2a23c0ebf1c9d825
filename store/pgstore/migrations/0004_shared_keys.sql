-- signoff_keys holds jwt mode's signing keys and refresh key when they are
-- kept in the store (signoff serve with SIGNOFF_KEYS_SECRET): one row,
-- sealed (AES-256-GCM) under a key derived from that secret, so a copy of
-- the database holds no usable key. version counts its changes.
CREATE TABLE signoff_keys (
  id         integer PRIMARY KEY CHECK (id = 1),
  version    bigint NOT NULL,
  sealed     bytea NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- keys_version, when not 0, says the key set changed to that version: every
-- instance reloads it (signoff.Revocation's Keys).
ALTER TABLE revocations ADD COLUMN keys_version bigint NOT NULL DEFAULT 0;
