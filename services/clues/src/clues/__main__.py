"""``python -m clues migrate|serve|scan``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clues")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="create or upgrade the clues database (a separate start-up step)")
    sub.add_parser("serve", help="run the HTTP API, the consumers and the deadline scan")
    sub.add_parser("scan", help="run the deadline and case-transfer timer scan once")
    args = parser.parse_args(argv)

    from jsp_common.logs import configure_logging

    from .settings import Settings

    settings = Settings().check()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if args.cmd == "migrate":
        from jsp_common.migrations import upgrade
        asyncio.run(upgrade(SERVICE_DIR, settings.database_url))
        print(f"clues: database {settings.database_url.rsplit('/', 1)[-1]} is at head")
        return 0
    if args.cmd == "scan":
        from .bootstrap import build
        from .handlers import scan_deadlines, scan_transfer_timers

        async def once() -> None:
            runtime, deps = build(settings, consume=False, periodic=False)
            try:
                print(f"chasers and escalations: {await scan_deadlines(deps)}; "
                      f"transfer timers: {await scan_transfer_timers(deps)} (published by `serve`)")
            finally:
                await runtime.db.dispose()
        asyncio.run(once())
        return 0
    import uvicorn

    from .main import create_app
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
