"""``python -m dashboard migrate | serve | rebuild``."""

from __future__ import annotations

import sys
from pathlib import Path

from jsp_common.cli import Command, run_loop, service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]


def rebuild(settings, args) -> int:
    from .usecases.rebuild import RebuildRefused
    from .usecases.rebuild import rebuild as run

    try:
        counts = run_loop(run(settings))
    except RebuildRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("read model rebuilt from the topics and in place: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    from .app import create_app
    from .settings import Settings

    return service_main(name="dashboard", service_dir=SERVICE_DIR, settings=Settings, create_app=create_app,
                        argv=argv, commands={"rebuild": Command(
                            "replay every topic into a new read model and put it in place (while the dashboard runs)",
                            rebuild)})


if __name__ == "__main__":
    sys.exit(main())
