"""``python -m gateway migrate | serve | create-office-account | purge-audit``."""

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


def purge_audit(settings, args) -> int:
    from jsp_common.db import Database

    from .adapters.repositories import purge_audit as purge

    async def once() -> int:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                return await purge(session, settings.audit_retention_days)
        finally:
            await db.dispose()

    print(f"gateway: {asyncio.run(once())} audit entries older than {settings.audit_retention_days} days removed")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .main import create_app
    from .settings import Settings

    return service_main(name="gateway", service_dir=SERVICE_DIR, settings=Settings, create_app=create_app,
                        argv=argv, commands={"create-office-account": Command(
                            "create a task-force office account (roles office and admin); prints its password",
                            create_account, account_arguments),
                            "purge-audit": Command("remove audit entries past the retention period "
                                                   "(JSP_GATEWAY_AUDIT_RETENTION_DAYS)", purge_audit)})


if __name__ == "__main__":
    sys.exit(main())
