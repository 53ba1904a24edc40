"""Run the agent on its own: ``python -m integrations.sage100.agent serve --config agent.json``.

    new-key                 print a new API key (give it to Ledgerbridge) and its hash (put it in the config)
    serve --config FILE     serve the agent API until Ctrl-C / the service stops
    check --config FILE     open a BOI session once and report (user, company, external access)
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading

from integrations.core.wsgi import ServerThread

from .app import hash_api_key
from .config import AgentConfig, ConfigError, build_app, build_backend
from .runner import SessionError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.sage100.agent", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new-key", help="generate an API key and its hash")
    for name in ("serve", "check"):
        command = commands.add_parser(name)
        command.add_argument("--config", required=True, help="the agent's JSON configuration file")
    args = parser.parse_args(argv)
    if args.command == "new-key":
        key = secrets.token_urlsafe(32)
        print(f"API key (enter it in Ledgerbridge; it is not stored here): {key}")
        print(f'api_key_hash for the agent configuration: "{hash_api_key(key)}"')
        return 0
    try:
        config = AgentConfig.load(args.config)
        return _check(config) if args.command == "check" else _serve(config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _check(config: AgentConfig) -> int:
    backend = build_backend(config)
    try:
        backend.check()
    except SessionError as exc:
        print(f"BOI session failed: {exc}", file=sys.stderr)
        return 1
    finally:
        backend.close()
    print(f"BOI session opened for company {config.company} as {config.sage_user} ({config.backend} backend).")
    return 0


def _serve(config: AgentConfig) -> int:
    app = build_app(config)
    server = ServerThread(app, config.host, config.port, quiet=False).start()
    print(f"Ledgerbridge agent for Sage 100 company {config.company} ({config.backend}) on {server.url}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    app.agent.backend.close()
    app.agent.keys.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
