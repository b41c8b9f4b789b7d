"""``python -m gateway migrate | serve | create-office-account``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from jsp_common.cli import Command, service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]


def account_arguments(parser) -> None:
    parser.add_argument("--username", default="office")
    parser.add_argument("--name", default="专班办公室管理员")
    parser.add_argument("--password", default=None, help="default: a generated one")
    parser.add_argument("--if-missing", action="store_true",
                        help="do nothing (exit 0) when the user name exists already")


def create_account(settings, args) -> int:
    from .admin_cli import create_office_account

    return asyncio.run(create_office_account(settings, username=args.username, name=args.name,
                                             password=args.password, if_missing=args.if_missing))


def main(argv: list[str] | None = None) -> int:
    from .main import create_app
    from .settings import Settings

    return service_main(name="gateway", service_dir=SERVICE_DIR, settings=Settings, create_app=create_app,
                        argv=argv, commands={"create-office-account": Command(
                            "create a task-force office account (roles office and admin); prints its password",
                            create_account, account_arguments)})


if __name__ == "__main__":
    sys.exit(main())
