"""docs/asyncapi.yaml as the official AsyncAPI CLI sees it (installed into .local/node by `make test`):
valid, with every reference resolving, so generators accept it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI = ROOT / ".local" / "node" / "node_modules" / ".bin" / "asyncapi"
ANALYTICS_OFF = ROOT / ".local" / "node" / "asyncapi-analytics.json"  # written by the Makefile: metrics off


def test_the_asyncapi_cli_accepts_the_document():
    assert ASYNCAPI.exists() and ANALYTICS_OFF.exists(), \
        "the AsyncAPI CLI is missing: `make contract-tools` (make test) installs it"
    assert '"analyticsEnabled": "false"' in ANALYTICS_OFF.read_text()
    done = subprocess.run([str(ASYNCAPI), "validate", str(ROOT / "docs" / "asyncapi.yaml")], cwd=ROOT,
                          env={**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(ANALYTICS_OFF), "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "is valid" in done.stdout, done.stdout
