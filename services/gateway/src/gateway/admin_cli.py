"""The first office account: created from the command line, since no one can log in to create it."""

from __future__ import annotations

from jsp_common.principal import Role

from . import handlers
from .adapters import repositories
from .bootstrap import build_runtime
from .domain.identity import ClientSpec, Kind
from .settings import Settings


async def create_office_account(settings: Settings, *, username: str, name: str, password: str | None,
                                if_missing: bool) -> int:
    rt = build_runtime(settings)
    try:
        async with rt.db.transaction() as session:
            existing = await repositories.get_client_by_username(session, username)
        if existing:
            print(f"the account {username!r} exists already (client {existing['client_id']})")
            return 0 if if_missing else 1
        spec = ClientSpec(name=name, kind=Kind.PERSON, roles=(Role.OFFICE, Role.ADMIN), username=username)
        client, cred = await handlers.create_client(rt, spec, by="create-office-account", password=password)
        print(f"office account created: username={username} password={cred.secret} client_id={client['client_id']}")
        return 0
    finally:
        await rt.db.dispose()
