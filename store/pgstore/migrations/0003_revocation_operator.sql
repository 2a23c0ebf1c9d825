-- operator names the administrator whose command made a revocation
-- (signoff.Revocation's Operator), so that every instance's log can say who.
ALTER TABLE revocations ADD COLUMN operator text NOT NULL DEFAULT '';
