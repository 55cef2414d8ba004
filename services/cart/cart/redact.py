"""Keep the database password out of every log line, whichever library writes it.

Nothing in this service formats the password into a message, and libpq does not echo it, so this is a second
line of defence: a record factory (process-wide, so it covers psycopg, psycopg_pool, Flask and gunicorn alike)
that replaces registered secrets in the rendered message and traceback before any handler sees them."""

from __future__ import annotations

import logging
import threading
from typing import Any

MASK = "[redacted]"


class _Redactor:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: frozenset[str] = frozenset()
        self.installed = False

    def register(self, value: str) -> None:
        with self.lock:
            self.secrets = self.secrets | {value}
            if not self.installed:  # one factory per process, wrapping whatever was there
                original = logging.getLogRecordFactory()

                def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                    record = original(*args, **kwargs)
                    self.scrub(record)
                    return record

                logging.setLogRecordFactory(factory)
                self.installed = True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def scrub(self, record: logging.LogRecord) -> None:
        if not self.secrets:
            return
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return  # a malformed logging call; logging reports it when the record is emitted
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now (handlers reuse exc_text), so exception messages in it are redacted too.
            text = logging.Formatter().formatException(record.exc_info)
            clean = self.redact(text)
            if clean != text:
                record.exc_text = clean


_redactor = _Redactor()


def register_secret(value: str) -> None:
    """Redact ``value`` from every log record created from now on."""
    _redactor.register(value)


def redact(text: str) -> str:
    return _redactor.redact(text)
