"""Writes deploy/k8s (base, kafka-users, autoscaling, the cluster and one-node overlays) and docs/capacity.md
from deploy/k8s/platform.yaml, deploy/k8s/capacity.yaml and the topic catalogue.

    python deploy/k8s/generate.py           # write (make k8s)
    python deploy/k8s/generate.py --check   # exit 1 if a committed file differs
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generator import layout  # noqa: E402


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = layout.drift()
        for rel in stale:
            print(f"out of date: deploy/k8s/{rel} (run make k8s)", file=sys.stderr)
        return 1 if stale else 0
    for path in layout.write():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
