"""``python -m clues migrate | serve | scan | replay-replica``."""

from __future__ import annotations

import sys
from pathlib import Path

from jsp_common.cli import Command, run_loop, service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]


def scan(settings, args) -> int:
    from .bootstrap import build
    from .usecases.deadlines import scan_deadlines
    from .usecases.transfers import scan_transfer_timers

    async def once() -> None:
        runtime = build(settings, consume=False, periodic=False)
        deps = runtime.deps
        try:
            print(f"chasers and escalations: {await scan_deadlines(deps)}; "
                  f"transfer timers: {await scan_transfer_timers(deps)} (published by `serve`)")
        finally:
            await runtime.db.dispose()

    run_loop(once())
    return 0


def main(argv: list[str] | None = None) -> int:
    from jsp_common.replica import replay_command

    from . import subscriptions
    from .adapters.tables import entities
    from .app import create_app
    from .settings import Settings

    return service_main(name="clues", service_dir=SERVICE_DIR, settings=Settings,
                        create_app=create_app, argv=argv,
                        commands={"scan": Command("run the deadline and case-transfer timer scan once", scan),
                                  "replay-replica": replay_command(entities, subscriptions.replica_extras)})


if __name__ == "__main__":
    sys.exit(main())
