"""The environment contract (DATABASE_URL, DATABASE_PASSWORD_FILE, DATABASE_PASSWORD), refusing to start without
a database, and the password never showing up in a response, an error message or a log line."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cart_testdb
import pytest

# cart.config needs the driver (it parses DATABASE_URL with libpq's rules).
config = pytest.importorskip(
    "cart.config", reason="psycopg is not installed in this Python (see services/cart/NOTES.md)"
)
ConfigError = config.ConfigError
database_settings = config.database_settings

URL = "host=/run/postgresql port=5432 dbname=cart user=cart"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "DATABASE_PASSWORD", "DATABASE_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_database_url_the_service_refuses_to_start(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], make_app: Callable[..., Any]
) -> None:
    with pytest.raises(SystemExit) as exited:
        make_app()
    assert exited.value.code == 3  # gunicorn's "worker failed to boot": it stops instead of respawning the worker
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("cart: refusing to start: DATABASE_URL is not set")


@pytest.mark.parametrize(
    "url",
    [
        "host=db port=5432 dbname=cart user=cart password=hunter2-{s}",
        "postgresql://cart:hunter2-{s}@db:5432/cart",
        "host=db password='hunter2-{s}",  # unparsable, and the parser's message would quote part of it
        "host=db hunter2-{s}",
    ],
)
def test_a_password_in_database_url_is_refused_without_repeating_it(url: str) -> None:
    secret = secrets.token_hex(8)
    with pytest.raises(ConfigError) as refused:
        database_settings({"DATABASE_URL": url.format(s=secret)})
    assert secret not in str(refused.value)
    # Nothing chained either: a traceback of the ConfigError must not show the parser's exception.
    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None or refused.value.__suppress_context__


def test_password_from_a_file_loses_its_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    expected = "s3cret value"
    path.write_text(expected + "\n")
    settings = database_settings({"DATABASE_URL": URL, "DATABASE_PASSWORD_FILE": str(path)})
    assert settings.password == expected
    assert expected not in repr(settings)
    assert settings.connect_kwargs()["password"] == expected


def test_password_from_the_environment() -> None:
    expected = "from-secrets-manager"
    settings = database_settings({"DATABASE_URL": URL, "DATABASE_PASSWORD": expected})
    assert settings.password == expected


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(None, r"can't be read \(No such file or directory\)"), ("\n", "is empty"), ("a\nb\n", "more than one line")],
)
def test_a_bad_password_file_is_refused_by_path(tmp_path: Path, content: str | None, fragment: str) -> None:
    path = tmp_path / "pw"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=fragment) as refused:
        database_settings({"DATABASE_URL": URL, "DATABASE_PASSWORD_FILE": str(path)})
    assert str(path) in str(refused.value)


def test_file_and_variable_together_are_ambiguous(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set only one"):
        database_settings({"DATABASE_URL": URL, "DATABASE_PASSWORD_FILE": "/x", "DATABASE_PASSWORD": "y"})


def test_connection_defaults_yield_to_database_url() -> None:
    settings = database_settings({"DATABASE_URL": URL + " connect_timeout=7"})
    kwargs = settings.connect_kwargs()
    assert "connect_timeout" not in kwargs  # DATABASE_URL's 7 wins
    assert kwargs["application_name"] == "cart" and "password" not in kwargs


@pytest.fixture
def app_from_env(
    clean_env: pytest.MonkeyPatch, pg: cart_testdb.SessionDatabase, make_app: Callable[..., Any]
) -> Iterator[Any]:
    for name, value in pg.env().items():
        clean_env.setenv(name, value)
    app = make_app()
    yield app
    app.extensions["cart_store"].close()


def test_the_service_starts_from_the_environment_with_a_password_file(app_from_env: Any, cart_id: str) -> None:
    client = app_from_env.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.post(f"/carts/{cart_id}/items", json={"sku": "apple"}).status_code == 201


def test_the_password_never_appears_in_responses_or_logs(
    clean_env: pytest.MonkeyPatch,
    pg: cart_testdb.SessionDatabase,
    caplog: pytest.LogCaptureFixture,
    make_app: Callable[..., Any],
    cart_id: str,
) -> None:
    caplog.set_level(logging.DEBUG)  # everything psycopg, the pool, Flask and the service log
    bodies: list[str] = []
    wrong = "wrong-" + secrets.token_urlsafe(16)
    for password in (pg.password, wrong):
        clean_env.setenv("DATABASE_URL", pg.url)
        clean_env.setenv("DATABASE_PASSWORD", password)
        app = make_app()
        client = app.test_client()
        try:
            # With the wrong password /healthz is a 503 and the pool logs its failed attempts. (Cart requests would
            # fail the same way, after waiting out the pool's 3 s timeout: not worth the test time.)
            paths = ["/healthz", "/metrics"] if password == wrong else ["/healthz", f"/carts/{cart_id}", "/metrics"]
            bodies.extend(client.get(path).get_data(as_text=True) for path in paths)
            if password != wrong:
                bodies.append(client.post(f"/carts/{cart_id}/items", json={"sku": "apple"}).get_data(as_text=True))
        finally:
            app.extensions["cart_store"].close()
    assert any("password authentication failed" in record.getMessage() for record in caplog.records)
    assert "[redacted]" not in caplog.text  # not even masked: nothing tried to log it (cart.redact is the backstop)
    server_log = pg.primary.log_file.read_text()
    for password in (pg.password, wrong):
        assert all(password not in body for body in bodies)
        assert password not in caplog.text
        assert password not in server_log


def test_a_registered_secret_is_masked_in_any_log_record(caplog: pytest.LogCaptureFixture) -> None:
    from cart.redact import register_secret

    secret = secrets.token_urlsafe(12)
    register_secret(secret)
    logger = logging.getLogger("some.library")
    logger.warning("connecting with %s", secret)
    try:
        int(f"bad {secret}")
    except ValueError:
        logger.exception("failed")
    assert secret not in caplog.text
    assert "connecting with [redacted]" in caplog.text and "bad [redacted]" in caplog.text  # message and traceback
