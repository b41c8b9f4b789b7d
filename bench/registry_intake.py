"""The registry's intake in its own process, as ``registry serve`` runs it (without HTTP and periodic jobs).

    python bench/registry_intake.py DATABASE_URL SERVICE_NAME CONSUMER_GROUP

Prints ``ready`` once the intake consumer has its partitions; stops gracefully on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys


async def main(database_url: str, service_name: str, group: str) -> None:
    from registry.bootstrap import build
    from registry.settings import Settings

    settings = Settings(database_url=database_url, log_level="WARNING", outbox_poll_interval_s=0.05,
                        service_name=service_name, intake_group=group)
    runtime = build(settings, periodic=False)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await runtime.start()
    try:
        await runtime.assigned()
        print("ready", flush=True)
        await stop.wait()
    finally:
        await runtime.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
