#!/usr/bin/env python
"""Django's command-line utility for Unity."""

import os
import sys

#: Any of these means the environment is configured (production, CI, a bench): leave DEBUG alone.
CONFIGURED = ("DJANGO_DEBUG", "SECRET_KEY", "SECRET_KEY_FILE", "DATABASE_URL")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unity.settings")
    if not any(name in os.environ for name in CONFIGURED):
        # Nothing configured: the embedded default (SQLite in var/, tasks in-process), as
        # `make run` uses it, so the README's commands work as written on a fresh checkout.
        os.environ["DJANGO_DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
