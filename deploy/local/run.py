"""`make run`: start every service behind the gateway on the local Kafka and PostgreSQL, then the gateway.

    python deploy/local/run.py [service ...]     (default: every folder in services/)

Each service is migrated (``python -m <name> migrate``), then served (``python -m <name> serve``) and waited
for on its ``/readyz``; the gateway starts last. Prints the gateway's address, its docs page and the
credentials of a local office account (created by ``python -m gateway create-office-account`` if missing;
its generated password is kept in ``.local/office-account.txt`` for this machine only). Ctrl-C or SIGTERM
stops them all; ``make run`` then stops Kafka and PostgreSQL, as it does when a service cannot start, but not
when a service's port is taken (exit status 3: another ``make run`` holds it, and the servers are that run's).
A service listens on ``JSP_<SERVICE>_HTTP_PORT`` when it is set (8000 for the gateway, 8101-8105 otherwise); the
logs and the office account's file are under ``JSP_LOCAL_DIR`` (.local), as ``deploy/local/infra.py`` keeps the
servers' files. The end-to-end tests start the platform with the same :class:`Stack`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DEFAULT_PORTS = {"gateway": 8000, "registry": 8101, "clues": 8102, "inspection": 8103, "risk": 8104, "dashboard": 8105}
FRONT = "gateway"
LOCAL = Path(os.environ.get("JSP_LOCAL_DIR", ROOT / ".local")).resolve()
OFFICE_FILE = LOCAL / "office-account.txt"


class StartError(RuntimeError):
    pass


# `make run` stops Kafka and PostgreSQL after run.py ends, except after this exit status: the ports were taken,
# most likely by another `make run`, whose servers they then are.
PORTS_TAKEN = 3


class PortTaken(StartError):
    """A service's port is held by another process."""


@dataclass
class Service:
    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    module: str = ""  # the package served (`python -m <module> serve`); the name by default

    def __post_init__(self) -> None:
        self.module = self.module or self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    """The services of the platform as processes: migrate, serve, wait for readiness, stop."""

    names: list[str]
    env: dict[str, str] = field(default_factory=dict)           # for every service
    per_service: dict[str, dict[str, str]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    log_dir: Path = LOCAL / "logs"
    services: dict[str, Service] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the gateway last: it fronts the others
        self.names = sorted(self.names, key=lambda n: n == FRONT)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        backends = [n for n in self.names if n != FRONT]
        for i, name in enumerate(self.names):
            prefix = f"JSP_{name.upper()}_"
            port = (self.ports.get(name) or int(os.environ.get(f"{prefix}HTTP_PORT") or 0) or DEFAULT_PORTS.get(name)
                    or 8110 + i)
            env = {**os.environ, **self.env, f"{prefix}HTTP_PORT": str(port), **self.per_service.get(name, {})}
            self.services[name] = Service(name, port, env, self.log_dir / f"{name}.log")
        if FRONT in self.services:
            gw = self.services[FRONT]
            for b in backends:
                gw.env.setdefault(f"JSP_GATEWAY_{b.upper()}_URL", self.services[b].url)
            if "dashboard" in self.services:  # it asks the gateway for entity 360 views under the person's token
                self.services["dashboard"].env.setdefault("JSP_DASHBOARD_GATEWAY_URL", gw.url)

    def migrate(self, name: str) -> None:
        svc = self.services[name]
        done = subprocess.run([PYTHON, "-m", svc.module, "migrate"], env=svc.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            raise StartError(f"{name}: migrate failed:\n{done.stdout}\n{done.stderr}")

    def check_port(self, name: str) -> None:
        port = self.services[name].port
        if port_in_use(port):
            raise PortTaken(f"{name}: port {port} is in use (is `make run` running already?)")

    def spawn(self, name: str) -> Service:
        """Start a service's process without waiting for it to be ready."""
        svc = self.services[name]
        self.check_port(name)  # its readiness check would be answered by whatever holds the port
        with open(svc.log, "ab") as log:
            svc.process = subprocess.Popen([PYTHON, "-m", svc.module, "serve"], env=svc.env, cwd=ROOT, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        return svc

    def kill(self, name: str) -> None:
        """SIGKILL a service's process (a crash: no shutdown step runs) and reap it."""
        svc = self.services[name]
        p, svc.process = svc.process, None
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()

    def start(self, name: str, *, timeout: float = 60.0) -> Service:
        svc = self.spawn(name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if svc.process.poll() is not None:
                raise StartError(f"{name} exited with {svc.process.returncode}; see {svc.log}")
            if ready(svc.url):
                return svc
            time.sleep(0.2)
        self.stop(name)
        raise StartError(f"{name} was not ready on {svc.url}/readyz within {timeout:.0f}s; see {svc.log}")

    def start_all(self) -> None:
        for name in self.names:
            self.migrate(name)
            self.start(name)

    def stop(self, name: str, *, timeout: float = 20.0) -> None:
        svc = self.services[name]
        p, svc.process = svc.process, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)  # graceful: uvicorn runs the lifespan shutdown
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop_all(self) -> None:
        for name in reversed(self.names):
            self.stop(name)


def ready(url: str) -> bool:
    return ready_url(url + "/readyz")


def ready_url(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def shown(path: Path) -> Path:
    """A path as printed: relative to the checkout when inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def office_account(env: dict[str, str]) -> tuple[str, str]:
    """The local office account: created if missing; its password kept in .local/office-account.txt."""
    import secrets

    username = "office"
    if OFFICE_FILE.exists():
        username, _, password = OFFICE_FILE.read_text().strip().partition(" ")
    else:
        password = secrets.token_urlsafe(12)
    from jsp_testkit.front_door import FrontDoorError, create_office_account

    try:
        said = create_office_account(env, username, password, if_missing=True)
    except FrontDoorError as exc:
        raise StartError(str(exc)) from None
    if "exists already" in said and not OFFICE_FILE.exists():
        return username, "(set before; reset with `python -m gateway create-office-account --username other`)"
    OFFICE_FILE.parent.mkdir(parents=True, exist_ok=True)
    OFFICE_FILE.write_text(f"{username} {password}\n")
    OFFICE_FILE.chmod(0o600)
    return username, password


def main(argv: list[str]) -> int:
    names = argv or sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
    stack = Stack(names)
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        for name in stack.names:  # before any migration: said at once, nothing touched
            stack.check_port(name)
        for name in stack.names:
            print(f"starting {name} ...", flush=True)
            stack.migrate(name)
            svc = stack.start(name)
            print(f"  {name} ready on {svc.url} (log: {shown(svc.log)})", flush=True)
        if FRONT in stack.services:
            gw = stack.services[FRONT]
            username, password = office_account(gw.env)
            print(f"\nJoint Supervision Platform is running.\n"
                  f"  gateway:   {gw.url}\n"
                  f"  docs:      {gw.url}/docs\n"
                  f"  metrics:   http://127.0.0.1:{gw.env.get('JSP_GATEWAY_METRICS_PORT', '9464')}/metrics "
                  f"(the gateway's, on their own port)\n"
                  f"  pages:     {gw.url}/ui/ (sign in as the office below), public pages {gw.url}/ui/public/\n"
                  f"  office:    username={username} password={password}\n"
                  f"  log in:    curl -s {gw.url}/auth/login -H 'content-type: application/json' "
                  f"-d '{{\"username\":\"{username}\",\"password\":\"{password}\"}}'\n"
                  f"  demo:      make demo\n"
                  f"Ctrl-C stops everything.", flush=True)
        while True:
            for svc in stack.services.values():
                if svc.process is not None and svc.process.poll() is not None:
                    print(f"{svc.name} exited with {svc.process.returncode}; see {svc.log}", flush=True)
                    svc.process = None
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except PortTaken as exc:
        print(f"error: {exc}", file=sys.stderr)
        return PORTS_TAKEN
    except StartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
