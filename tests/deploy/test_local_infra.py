"""The local infrastructure script fails with a clear message instead of a stack trace."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from jsp_testkit.testing import free_port

ROOT = Path(__file__).resolve().parents[2]


def run_infra(command: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "deploy/local/infra.py"), command],
                          env={**os.environ, "JSP_DATA_DIR": str(tmp_path), **env},
                          capture_output=True, text=True, timeout=60)


def test_kafka_port_in_use_is_reported(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = run_infra("kafka-start", tmp_path, JSP_KAFKA_PORT=str(port), JSP_KAFKA_CONTROLLER_PORT=str(free_port()))
    assert res.returncode == 1
    assert f"port 127.0.0.1:{port} is already in use" in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_java_is_reported(tmp_path):
    res = run_infra("kafka-start", tmp_path, PATH="/nonexistent", JSP_KAFKA_PORT=str(free_port()),
                    JSP_KAFKA_CONTROLLER_PORT=str(free_port()))
    assert res.returncode == 1
    assert "`java` was not found" in res.stderr
