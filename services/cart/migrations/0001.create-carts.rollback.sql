-- Destroys every cart: only for a database that never went live (or a restored copy).
DROP TABLE cart_items;
DROP TABLE carts;
