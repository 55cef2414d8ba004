-- Expand step: a column the NEXT release will write, which the current release neither reads nor writes.
-- Nullable with a default, so the current release's INSERTs (which don't name it) keep working and fill it;
-- its UPDATEs leave it as it was. now() is stable, not volatile, so PostgreSQL stores the value once in the
-- catalog for the existing rows instead of rewriting the table.
-- depends: 0001.create-carts

-- ALTER TABLE needs an ACCESS EXCLUSIVE lock; behind a long transaction it would queue and block every cart
-- request meanwhile. Fail fast instead, and let the pipeline retry the migration.
SET LOCAL lock_timeout = '5s';

ALTER TABLE cart_items ADD COLUMN updated_at timestamptz DEFAULT now();

-- No GRANT needed: cart's table-level privileges cover new columns.
