"""Strict, bounded parsing of what clients send: path identifiers and the JSON body of an add."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from cart.errors import ApiError
from cart.limits import IDENTIFIER_PATTERN, MAX_BODY_BYTES, MAX_QUANTITY

IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
ITEM_FIELDS = ("sku", "quantity")


def identifier(value: str, what: str) -> str:
    # fullmatch, not match with "$": "$" also matches before a trailing newline ("apple\n" would pass).
    if not IDENTIFIER.fullmatch(value):
        raise ApiError(f"{what} must be 1-64 letters, digits, '-' or '_'")
    return value


def item_from_body(request: Request) -> tuple[str, int]:
    """(sku, quantity) from a body like {"sku": "apple", "quantity": 2}; quantity defaults to 1."""
    body = _json_body(request)
    if not isinstance(body, dict):
        raise ApiError('body must be a JSON object like {"sku": "apple", "quantity": 2}')
    unexpected = sorted(set(body) - set(ITEM_FIELDS))
    if unexpected:
        raise ApiError(f"unexpected field(s) in the body; allowed: {', '.join(ITEM_FIELDS)}")
    sku = body.get("sku")
    if not isinstance(sku, str):
        raise ApiError("'sku' is required and must be a string")
    quantity = body.get("quantity", 1)
    # bool is a subclass of int in Python: true must not mean 1.
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ApiError(f"'quantity' must be an integer from 1 to {MAX_QUANTITY}")
    return identifier(sku, "'sku'"), quantity


def _json_body(request: Request) -> Any:
    if not request.is_json:
        raise ApiError("Content-Type must be application/json", status=415)
    # Checked here as well as by Flask's MAX_CONTENT_LENGTH: Werkzeug 2.2 (Debian bookworm) applies that limit
    # only to form parsing, not to get_data(); reading at most one byte past the limit also bounds chunked bodies.
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    try:
        return json.loads(raw)
    # RecursionError: 16 KiB of "[" nests deeper than the parser's recursion limit.
    except (ValueError, RecursionError):
        raise ApiError('body must be a JSON object like {"sku": "apple", "quantity": 2}') from None
