"""TCP ports on 127.0.0.1: whether one is free, who holds it, and a free one for helper processes."""

from __future__ import annotations

import contextlib
import socket

import psutil

from gantry.errors import GantryError


def port_owner(port: int) -> str | None:
    """None when 127.0.0.1:port can be bound, else a description of who holds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return None
        except OSError:
            pass
    with contextlib.suppress(psutil.AccessDenied, PermissionError):
        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                with contextlib.suppress(psutil.Error):
                    return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
    return "another process"


def require_free(port: int, what: str, setting: str) -> None:
    owner = port_owner(port)
    if owner:
        raise GantryError(
            f"port {port} for {what} is already taken by {owner}: stop it (`gantry down` if it is ours) "
            f"or change {setting} in the environment file"
        )


def free_port(start: int = 0, stop: int = 65536) -> int:
    """A port nobody listens on: any (start=0, the kernel picks), or the first free one in [start, stop)."""
    if start == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            return port
    for candidate in range(start, stop):
        if port_owner(candidate) is None:
            return candidate
    raise GantryError(f"no free port on 127.0.0.1 in {start}-{stop - 1}: stop something that uses them")
