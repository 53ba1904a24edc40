"""Where the database lives.

With ``DATABASE_URL`` set we use that server. Without it the product runs on an embedded PostgreSQL
(the ``pgserver`` package) whose data sits under ``var/pg``; nothing has to be installed by hand.
Settings only *describe* the connection (a Unix socket in ``var/pg``); :func:`ensure_embedded_postgres`
starts the server and is called by ``manage.py``, the WSGI entry point and the test setup.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_DB_NAME = "ledgerbridge"


def var_dir() -> Path:
    path = Path(os.environ.get("LEDGERBRIDGE_VAR_DIR", BASE_DIR / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_pgdata() -> Path:
    return var_dir() / "pg"


def uses_embedded_postgres() -> bool:
    return not os.environ.get("DATABASE_URL")


def database_settings() -> dict:
    """The ``default`` DATABASES entry, for django-tenants' PostgreSQL backend."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return {
            "ENGINE": "django_tenants.postgresql_backend",
            "NAME": EMBEDDED_DB_NAME,
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": str(embedded_pgdata()),
            "PORT": "",
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ValueError("DATABASE_URL must be a postgresql:// URL (django-tenants needs PostgreSQL schemas)")
    query = parse_qs(parsed.query)
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": query.get("host", [parsed.hostname or ""])[0],
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
    }


_server = None


def ensure_embedded_postgres(dbname: str = EMBEDDED_DB_NAME):
    """Start (or attach to) the embedded server and make sure the database exists.

    pgserver shares one server per data directory between processes and stops it when the last
    process that asked for it exits, so the web server, worker and commands can all call this.
    """
    global _server
    if not uses_embedded_postgres():
        return None
    if _server is None:
        runtime = var_dir() / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import logging

        import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)

        _prune_dead_handles(embedded_pgdata())
        _server = pgserver.get_server(embedded_pgdata(), cleanup_mode="stop")
    exists = _server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{dbname}';")  # noqa: S608 - our constant
    if "(1 row)" not in exists:
        _server.psql(f'CREATE DATABASE "{dbname}";')
    return _server


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget processes that died without their atexit hook (kill -9, SIGTERM).

    pgserver stops the server when the last process that asked for it exits, counting processes in
    ``.handle_pids.json``; a process killed hard stays in that list for ever and the server would
    never stop. Dropping pids that are no longer alive keeps the count true.
    """
    import json

    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
