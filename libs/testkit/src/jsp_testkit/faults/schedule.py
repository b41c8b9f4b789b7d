"""The fault schedule: kill -9 of every service process (several times, at seeded random moments), a broker
restart and a PostgreSQL outage, while a supervisor restarts whatever is down, as Kubernetes would.

The moments are timers (the schedule of the faults), not synchronisation: the suite waits on conditions."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path



def infra(root: Path, command: str, attempts: int = 4) -> None:
    """``deploy/local/infra.py <command>`` on the test servers (their addresses are in this environment). A
    start is asked again while the server is still coming up (a broker recovering its log on a busy machine
    can take longer than one wait)."""
    for attempt in range(1, attempts + 1):
        done = subprocess.run([sys.executable, str(root / "deploy" / "local" / "infra.py"), command],
                              capture_output=True, text=True, timeout=240)
        if done.returncode == 0:
            return
        if attempt == attempts or not command.endswith("-start"):
            raise RuntimeError(f"infra.py {command} failed:\n{done.stdout}\n{done.stderr[-3000:]}")


@dataclass(frozen=True)
class Fault:
    at_s: float
    kind: str          # kill | broker-restart | postgres-outage
    target: str = ""   # "<replica>/<service>" for a kill
    down_s: float = 0  # how long it stays down


@dataclass
class FaultSchedule:
    """Runs ``faults`` against ``stacks`` (replica name -> run.py Stack) from ``start()`` on, in a thread."""

    root: Path         # the repository: deploy/local/infra.py stops and starts the servers
    stacks: dict
    faults: list[Fault]
    done: list[str] = field(default_factory=list)           # what happened, when, for the report
    unexpected_exits: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._down_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._t0 = 0.0
        self._threads: list[threading.Thread] = []
        self.error: BaseException | None = None

    @classmethod
    def plan(cls, root: Path, stacks: dict, rng: random.Random, *, window_s: float, kills_per_process: int,
             broker_restarts: int, postgres_outage_s: float) -> "FaultSchedule":
        faults = [Fault(rng.uniform(2, window_s), "kill", f"{replica}/{name}", rng.uniform(0.5, 4))
                  for replica, stack in stacks.items() for name in stack.names for _ in range(kills_per_process)]
        # the broker and the database go away in different thirds of the window
        faults += [Fault(rng.uniform(window_s * 0.6, window_s * 0.9), "broker-restart") for _ in range(broker_restarts)]
        if postgres_outage_s:
            faults.append(Fault(rng.uniform(window_s * 0.15, window_s * 0.35), "postgres-outage", down_s=postgres_outage_s))
        return cls(root, stacks, sorted(faults, key=lambda f: f.at_s))

    def _log(self, what: str) -> None:
        line = f"{time.monotonic() - self._t0:7.1f}s  {what}"
        self.done.append(line)
        print("faults:", line, flush=True)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._threads = [threading.Thread(target=self._guard(self._run), name="fault-schedule", daemon=True),
                         threading.Thread(target=self._guard(self._supervise), name="supervisor", daemon=True)]
        for t in self._threads:
            t.start()

    def _guard(self, fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported by finished()/stop()
                self.error = exc
                self._log(f"schedule failed: {exc!r}")
        return run

    def finished(self) -> bool:
        """Every fault has been applied (and the servers are back)."""
        if self.error:
            raise AssertionError(f"the fault schedule failed: {self.error!r}")
        return not self._threads[0].is_alive()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=300)

    # ---------------------------------------------------------------- the faults
    def _run(self) -> None:
        servers: list[threading.Thread] = []  # a server's stop and start take a while: beside the kills
        for f in self.faults:
            if self._stop.wait(max(0.0, self._t0 + f.at_s - time.monotonic())):
                break
            if f.kind == "kill":
                replica, name = f.target.split("/")
                with self._lock:
                    self._down_until[f.target] = time.monotonic() + f.down_s
                    self.stacks[replica].kill(name)
                self._log(f"kill -9 {f.target} (restarted after {f.down_s:.1f}s)")
            else:
                servers.append(threading.Thread(target=self._guard(lambda f=f: self._server(f)), daemon=True))
                servers[-1].start()
        for t in servers:
            t.join()

    def _server(self, f: Fault) -> None:
        if f.kind == "broker-restart":
            self._log("broker: stopping")
            infra(self.root, "kafka-stop")
            infra(self.root, "kafka-start")
            self._log("broker: back")
        elif f.kind == "postgres-outage":
            self._log(f"postgres: stopping for {f.down_s:.0f}s")
            infra(self.root, "pg-stop")
            self._log("postgres: stopped")
            self._stop.wait(f.down_s)
            infra(self.root, "pg-start")
            self._log("postgres: back")

    def _supervise(self) -> None:
        """Restart every process that is down (killed, or exited on its own: counted) once its time is up."""
        while not self._stop.wait(0.3):
            for replica, stack in self.stacks.items():
                for name, svc in stack.services.items():
                    target = f"{replica}/{name}"
                    with self._lock:
                        p = svc.process
                        if p is not None and p.poll() is None:
                            continue
                        if p is not None:  # not killed by the schedule
                            self.unexpected_exits.append(f"{target} exited with {p.returncode}")
                            self._log(f"{target} exited on its own with {p.returncode}; restarting")
                            svc.process = None
                        if time.monotonic() < self._down_until.get(target, 0):
                            continue
                        try:
                            stack.spawn(name)
                        except Exception as exc:  # noqa: BLE001 - port not free yet: next round
                            self._log(f"{target} not restarted yet: {exc}")
