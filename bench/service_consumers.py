"""A service's consumers in their own process, as ``<service> serve`` runs them (without HTTP and periodic jobs).

    python bench/service_consumers.py SERVICE DATABASE_URL SERVICE_NAME INTAKE_GROUP

Prints ``ready`` once its consumers have their partitions; stops gracefully on SIGTERM. The harness reads its
CPU time from /proc (``harness.cpu_seconds``): the service's own CPU per event, without the load generator's.
"""

from __future__ import annotations

import importlib
import sys

from jsp_common.cli import run_loop

from harness import ready_until_terminated


async def main(service: str, database_url: str, service_name: str, group: str) -> None:
    build = importlib.import_module(f"{service}.bootstrap").build
    settings_class = importlib.import_module(f"{service}.settings").Settings
    settings = settings_class(database_url=database_url, log_level="WARNING", outbox_poll_interval_s=0.05,
                              service_name=service_name, intake_group=group)
    runtime = build(settings, periodic=False)
    await runtime.start()
    try:
        await runtime.assigned()
        await ready_until_terminated()
    finally:
        await runtime.stop()


if __name__ == "__main__":
    run_loop(main(*sys.argv[1:5]))
