SET LOCAL lock_timeout = '5s';
ALTER TABLE cart_items DROP COLUMN updated_at;
