#!/usr/bin/env python
"""Django's command-line utility for Ledgerbridge."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from portal.db import ensure_embedded_postgres

    # The sandbox systems emulate *other* companies' servers; they never touch our database.
    if len(sys.argv) > 1 and sys.argv[1] not in {"help", "--help", "-h", "version", "--version", "sandbox"}:
        ensure_embedded_postgres()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
