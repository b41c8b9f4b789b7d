"""``python -m risk migrate | serve | rescore | escalate | replay-replica``."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from jsp_common.cli import Command, run_loop, service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]


def peak_memory_mib() -> float:
    """This process's peak resident memory since it started (VmHWM; ru_maxrss would carry over the parent's
    peak across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rescore(settings, args) -> int:
    from jsp_common.schedule_feed import read_once

    from .bootstrap import build
    from .usecases.models import rescore_all

    async def once() -> None:
        runtime = build(settings, consume=False, periodic=False)
        try:
            # the alerts it raises count their deadlines through the published holiday schedules, as `serve` does
            await read_once(runtime.deps.calendar, **settings.kafka_client_options())
            done = await rescore_all(runtime.deps)
            peak = peak_memory_mib()
            print(f"re-scored {done['entities']} entities under model version {done['model_version']}: "
                  f"{done['changed']} changed level or class (their events are published by `serve`); "
                  f"peak memory {peak:.0f} MiB")
        finally:
            await runtime.db.dispose()

    run_loop(once())
    return 0


def escalate(settings, args) -> int:
    from .bootstrap import build
    from .usecases.alerts import escalate_due

    async def once() -> None:
        runtime = build(settings, consume=False, periodic=False)
        try:
            print(f"escalated {await escalate_due(runtime.deps)} unanswered alerts (published by `serve`)")
        finally:
            await runtime.db.dispose()

    run_loop(once())
    return 0


def main(argv: list[str] | None = None) -> int:
    from jsp_common.replica import replay_command

    from .adapters.tables import entities
    from .app import create_app
    from .settings import Settings

    return service_main(name="risk", service_dir=SERVICE_DIR, settings=Settings, create_app=create_app, argv=argv,
                        commands={"replay-replica": replay_command(entities),
                                  "rescore": Command("re-score every entity under the model in force", rescore),
                                  "escalate": Command("escalate unanswered alerts past their deadline once",
                                                      escalate)})


if __name__ == "__main__":
    sys.exit(main())
