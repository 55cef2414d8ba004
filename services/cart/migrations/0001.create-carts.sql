-- Carts and their items: the schema the PostgreSQL-backed cart service needs.
-- Applied by the pipeline (yoyo), on the primary, as the database owner `cart_owner`, before the deploy.
-- The service connects as `cart`, which gets DML on these two tables and nothing else.
-- The CHECK constraints repeat the service's limits (cart/limits.py) so no writer can store more.

CREATE TABLE carts (
    cart_id    text        NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- PostgreSQL's "$" matches only at the very end of the string (no trailing-newline exception).
    CONSTRAINT carts_cart_id_format CHECK (cart_id ~ '^[A-Za-z0-9_-]{1,64}$')
);

CREATE TABLE cart_items (
    cart_id  text    NOT NULL REFERENCES carts (cart_id) ON DELETE CASCADE,
    sku      text    NOT NULL,
    quantity integer NOT NULL,
    PRIMARY KEY (cart_id, sku),
    CONSTRAINT cart_items_sku_format CHECK (sku ~ '^[A-Za-z0-9_-]{1,64}$'),
    CONSTRAINT cart_items_quantity_range CHECK (quantity BETWEEN 1 AND 99)
);

-- Least privilege for the runtime role. (UPDATE on carts is also what SELECT ... FOR UPDATE, the per-cart
-- lock, requires.) yoyo's own tables are owned by cart_owner and stay invisible to `cart`.
REVOKE ALL ON carts, cart_items FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON carts, cart_items TO cart;

-- PostgreSQL 15 already denies CREATE on schema public to PUBLIC; a database upgraded from an older release may
-- not. (A no-op, with a warning, where cart_owner does not own the schema.)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
