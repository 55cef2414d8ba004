"""The service's input and storage limits, in one place so the HTTP layer, the SQL and the docs agree.

The database enforces the same numbers (CHECK constraints in migrations/0001): the constants here produce the
friendly 4xx answers, the constraints keep any other writer honest. There is no bound on the number of carts:
they live in PostgreSQL, not in a replica's memory, so their count is a capacity question for the database."""

from __future__ import annotations

MAX_BODY_BYTES = 16 * 1024  # a cart item is ~40 bytes of JSON; anything near this is a mistake or an attack
MAX_QUANTITY = 99  # per request AND per stored item
MAX_ITEMS_PER_CART = 100  # distinct SKUs in one cart
IDENTIFIER_PATTERN = r"[A-Za-z0-9_-]{1,64}"  # cart ids and SKUs; always used with re.fullmatch
