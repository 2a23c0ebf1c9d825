-- action names what an administrator did (signoff.Revocation's Action:
-- user.disabled, keys.rotated, …), so that every instance's log can say it.
ALTER TABLE revocations ADD COLUMN action text NOT NULL DEFAULT '';
