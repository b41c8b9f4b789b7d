"""``python -m gateway migrate | serve | create-office-account``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="create or upgrade the gateway's database")
    sub.add_parser("serve", help="serve HTTP (settings: JSP_GATEWAY_*)")
    acct = sub.add_parser("create-office-account",
                          help="create a task-force office account (roles office and admin); prints its password")
    acct.add_argument("--username", default="office")
    acct.add_argument("--name", default="专班办公室管理员")
    acct.add_argument("--password", default=None, help="default: a generated one")
    acct.add_argument("--if-missing", action="store_true",
                      help="do nothing (exit 0) when the user name exists already")
    args = parser.parse_args(argv)

    from jsp_common.logs import configure_logging

    from .settings import Settings

    settings = Settings()
    configure_logging("gateway", settings.log_level, settings.log_json)
    if args.cmd == "migrate":
        from jsp_common.migrations import upgrade

        asyncio.run(upgrade(SERVICE_DIR, settings.database_url))
        print(f"gateway: database migrated ({settings.database_url.rsplit('/', 1)[-1]})")
        return 0
    if args.cmd == "serve":
        import uvicorn

        from .main import create_app

        uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                    log_level="warning", access_log=False)
        return 0
    if args.cmd == "create-office-account":
        from .admin_cli import create_office_account

        return asyncio.run(create_office_account(settings, username=args.username, name=args.name,
                                                 password=args.password, if_missing=args.if_missing))
    return 2


if __name__ == "__main__":
    sys.exit(main())
