"""Every error the service answers is JSON ``{"error": <message>, "status": <code>}`` with that status code:
its own (ApiError, store outcomes), Flask's and Werkzeug's (404, 405, 413, ...) and unexpected ones (500)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from cart.limits import MAX_BODY_BYTES
from cart.store import DatabaseUnavailable, LimitExceeded, ReadOnlyDatabase, StoreError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A client error with a message that names what to change."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def error_response(message: str, status: int, headers: dict[str, str] | None = None) -> tuple[Response, int]:
    response = jsonify(error=message, status=status)
    response.headers.update(headers or {})
    return response, status


def _store_status(exc: StoreError) -> tuple[int, dict[str, str]]:
    if isinstance(exc, LimitExceeded):
        return 409, {}
    if isinstance(exc, ReadOnlyDatabase):
        return 503, {}  # retrying won't help until someone promotes the database
    if isinstance(exc, DatabaseUnavailable):
        return 503, {"Retry-After": "1"}
    return 500, {}  # StorageFailure: the details are in the log


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(str(exc), exc.status)

    @app.errorhandler(StoreError)
    def _store_error(exc: StoreError) -> tuple[Response, int]:
        status, headers = _store_status(exc)
        return error_response(str(exc), status, headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        message = exc.description or exc.name
        if isinstance(exc, RequestEntityTooLarge):  # raised by Werkzeug itself too, with a vaguer text
            message = f"the request body must be at most {MAX_BODY_BYTES} bytes"
        return error_response(message, exc.code or 500, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        # The traceback goes to the log (secrets redacted by cart.redact); the client learns nothing internal.
        log.error("unhandled %s", exc.__class__.__name__, exc_info=exc)
        return error_response("internal server error", 500)
