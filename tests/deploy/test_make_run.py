"""`make run`, as a developer runs it in a terminal: the whole platform comes up, and Ctrl-C stops all of it,
the services and then Kafka and PostgreSQL. Run on ports and a local folder of its own (the settings `make run`
reads), beside the test servers and any `make run` of the developer's."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from jsp_testkit.testing import SERVICES, free_port, local_stack_module

ROOT = Path(__file__).resolve().parents[2]
READY = "Ctrl-C stops everything."
listening = local_stack_module(ROOT).port_in_use  # what run.py checks before it starts a service


def output_until(proc: subprocess.Popen, text: str, *, timeout: float) -> str:
    """What ``proc`` printed up to the line holding ``text``, each line read as it is written (``select`` on its
    pipe); fails when the process ends or ``timeout`` passes first."""
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen:
        remaining = deadline - time.monotonic()
        readable, _, _ = select.select([proc.stdout], [], [], max(remaining, 0))
        assert readable, f"make run not up in {timeout:g} s:\n{seen[-3000:]}"
        line = proc.stdout.readline()
        assert line, f"make run ended with {proc.wait()}:\n{seen[-3000:]}"
        seen += line.decode()
    return seen


def make_run(env: dict[str, str]) -> subprocess.Popen:
    """`make run` in a session of its own, SIGINT at its default: a terminal's Ctrl-C reaches make and everything
    it started."""
    return subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, bufsize=0, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_ctrl_c_stops_the_services_then_kafka_and_postgresql(tmp_path):
    """Also: a second `make run` on the same ports stops at once and leaves the first one's servers up; a run whose
    service cannot start (a bad setting) stops the servers it started."""
    local = tmp_path / "local"
    local.mkdir()
    (local / "kafka").symlink_to(ROOT / ".local" / "kafka")  # the jars make fetched; the data is the run's own
    kafka, controller, postgres = free_port(), free_port(), free_port()
    ports = {name: free_port() for name in SERVICES}
    env = {**os.environ, "JSP_LOCAL_DIR": str(local), "JSP_DATA_DIR": str(local / "data"),
           "JSP_KAFKA_PORT": str(kafka), "JSP_KAFKA_CONTROLLER_PORT": str(controller), "JSP_PG_PORT": str(postgres),
           "JSP_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka}",
           "JSP_POSTGRES_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{postgres}",
           "JSP_ENVIRONMENT": "development", "JSP_GATEWAY_METRICS_PORT": str(free_port()),
           **{f"JSP_{name.upper()}_HTTP_PORT": str(port) for name, port in ports.items()}}
    servers = [("kafka", kafka), ("postgres", postgres)]
    make = make_run(env)
    try:
        said = output_until(make, READY, timeout=420)
        up = {name: listening(port) for name, port in [*ports.items(), *servers]}
        assert all(up.values()), up
        assert f"http://127.0.0.1:{ports['gateway']}" in said
        assert (local / "office-account.txt").exists() and (local / "logs" / "gateway.log").exists()

        second = make_run(env)
        told = second.communicate(timeout=180)[0].decode()
        assert second.returncode != 0 and "is in use (is `make run` running already?)" in told, told[-2000:]
        assert "starting " not in told and "stopped" not in told, told[-2000:]  # nothing touched
        assert all(listening(port) for _, port in [*ports.items(), *servers]), "the first run lost its servers"

        os.killpg(make.pid, signal.SIGINT)
        said += make.communicate(timeout=180)[0].decode()
        assert "stopping ..." in said and "kafka: stopped" in said and "postgres: stopped" in said, said[-2000:]
        left = {name: port for name, port in [*ports.items(), *servers] if listening(port)}
        assert left == {}, f"still listening after Ctrl-C: {left}"

        broken = make_run({**env, "JSP_CLUES_MATCH_CANDIDATES": "many"})  # clues starts first; it cannot
        told = broken.communicate(timeout=420)[0].decode()
        assert broken.returncode != 0 and "clues: migrate failed" in told, told[-2000:]
        assert "kafka: stopped" in told and "postgres: stopped" in told, told[-2000:]
        left = {name: port for name, port in servers if listening(port)}
        assert left == {}, f"still listening after a run that could not start: {left}"
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        subprocess.run([sys.executable, str(ROOT / "deploy/local/infra.py"), "down"], env=env,
                       capture_output=True, timeout=120)
