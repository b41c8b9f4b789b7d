"""Run every benchmark module (``bench/bench_*.py``) and print each figure beside its baseline.

    python bench/run.py [NAME_FILTER ...]
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import BenchEnv, print_figures, settle  # noqa: E402


def modules(filters: list[str]) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    return [p for p in found if not filters or any(f in p.stem for f in filters)]


async def main(filters: list[str]) -> int:
    from jsp_common.runtime import tune_gc
    from jsp_common.settings import ServiceSettings

    s = ServiceSettings(service_name="bench")
    # The services tune the garbage collector when they start (jsp_common.runtime.tune_gc); the bare loops
    # measured in this process beside them run under the same settings.
    tune_gc(s.gc_young_threshold)
    env = BenchEnv(bootstrap=s.kafka_bootstrap_servers, postgres_url=s.postgres_url,
                   scale=float(os.environ.get("BENCH_SCALE", "1.0")))
    failed = 0
    for path in modules(filters):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        waited, busy = await settle()  # each module starts on a quiet machine, whatever ran before it
        started = time.perf_counter()
        try:
            figures = await mod.run(env)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            print(f"\n{path.stem}: FAILED: {type(exc).__name__}: {exc}")
            failed += 1
            continue
        print_figures(f"{path.stem} ({time.perf_counter() - started:.0f}s, scale {env.scale}; started after "
                      f"{waited:.0f}s for a quiet machine, {busy:.0%} busy)", figures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
