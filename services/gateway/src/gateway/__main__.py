"""``python -m gateway migrate | serve | create-office-account | purge-audit``."""

from __future__ import annotations

import sys
from pathlib import Path

from jsp_common.cli import Command, run_loop, service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]


def account_arguments(parser) -> None:
    parser.add_argument("--username", default="office")
    parser.add_argument("--name", default="专班办公室管理员")
    parser.add_argument("--password", default=None, help="default: a generated one")
    parser.add_argument("--if-missing", action="store_true",
                        help="do nothing (exit 0) when the user name exists already")


def create_account(settings, args) -> int:
    """The first office account: created from the command line, since no one can log in to create it."""
    from jsp_common.outbox import SessionTx
    from jsp_common.principal import Role

    from .bootstrap import build
    from .domain.identity import ClientSpec, Kind
    from .usecases import clients

    async def once() -> int:
        runtime = build(settings, consume=False, periodic=False)
        try:
            async with runtime.db.transaction() as session:
                tx = SessionTx(session, runtime.source)
                existing = await clients.client_by_username(tx, args.username)
                if existing:
                    print(f"the account {args.username!r} exists already (client {existing['client_id']})")
                    return 0 if args.if_missing else 1
                spec = ClientSpec(name=args.name, kind=Kind.PERSON, roles=(Role.OFFICE, Role.ADMIN),
                                  username=args.username)
                client, cred = await clients.create_client(runtime.deps, tx, spec, by="create-office-account",
                                                           password=args.password)
            print(f"office account created: username={args.username} password={cred.secret} "
                  f"client_id={client['client_id']}")
            return 0
        finally:
            await runtime.db.dispose()

    return run_loop(once())


def purge_audit(settings, args) -> int:
    from jsp_common.db import Database
    from jsp_common.outbox import SessionTx

    from .usecases import audit

    async def once() -> int:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as session:
                return await audit.purge(SessionTx(session, f"/jsp/{settings.service_name}"),
                                         settings.audit_retention_days)
        finally:
            await db.dispose()

    print(f"gateway: {run_loop(once())} audit entries older than {settings.audit_retention_days} days removed")
    return 0


def main(argv: list[str] | None = None) -> int:
    from .app import create_app
    from .settings import Settings

    return service_main(name="gateway", service_dir=SERVICE_DIR, settings=Settings, create_app=create_app,
                        argv=argv, commands={"create-office-account": Command(
                            "create a task-force office account (roles office and admin); prints its password",
                            create_account, account_arguments),
                            "purge-audit": Command("remove audit entries past the retention period "
                                                   "(JSP_GATEWAY_AUDIT_RETENTION_DAYS)", purge_audit)})


if __name__ == "__main__":
    sys.exit(main())
