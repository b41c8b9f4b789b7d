"""The one command line of every service: ``python -m <service> migrate | serve | <its own commands>``.

``migrate`` creates or upgrades the service's own database (a separate start-up step, never inside the
app); ``serve`` runs the HTTP API with its consumers and periodic jobs. A service adds its own commands
as :class:`Command` entries.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Coroutine

import uvloop

from .logs import configure_logging
from .settings import ServiceSettings


# Every process of the platform runs on libuv's event loop (uvloop) and parses HTTP with httptools: a lookup
# through the gateway costs both services about a quarter less CPU than on asyncio's own loop and h11 (README).
LOOP, HTTP = "uvloop", "httptools"


def http_server_options(s: ServiceSettings) -> dict[str, Any]:
    """How ``serve`` runs a service's HTTP API (uvicorn's options, from the settings)."""
    return dict(host=s.http_host, port=s.http_port, timeout_keep_alive=s.http_keep_alive_s, loop=LOOP, http=HTTP,
                log_config=None, access_log=False, proxy_headers=True, forwarded_allow_ips=s.http_forwarded_allow_ips,
                timeout_graceful_shutdown=s.http_graceful_shutdown_s)


def run_loop(main: Coroutine) -> Any:
    """Run ``main`` to its end on the event loop ``serve`` runs the services on: every command of the platform
    (migrate, import, replay, rebuild, the operators' tools) and the benches' processes."""
    return uvloop.run(main)


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[ServiceSettings, argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None


def service_main(*, name: str, service_dir: Path, settings: Callable[[], ServiceSettings],
                 create_app: Callable[[Any], Any], commands: dict[str, Command] | None = None,
                 argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help=f"create or upgrade the {name} database (a separate start-up step)")
    sub.add_parser("serve", help="run the HTTP API, the consumers and the periodic jobs")
    for cmd, spec in (commands or {}).items():
        spec.arguments(sub.add_parser(cmd, help=spec.help))
    args = parser.parse_args(argv)

    s = settings()
    configure_logging(s.service_name, s.log_level, s.log_json, repeat_window_s=s.log_repeat_window_s)
    if args.cmd == "migrate":
        from .migrations import upgrade

        run_loop(upgrade(service_dir, s.database_url))
        print(f"{name}: database {s.database_url.rsplit('/', 1)[-1]} is at the latest revision")
        return 0
    if args.cmd == "serve":
        import uvicorn

        uvicorn.run(create_app(s), **http_server_options(s))
        return 0
    return commands[args.cmd].run(s, args)


def tool_main(*, prog: str, description: str, commands: dict[str, Command], argv: list[str] | None = None) -> int:
    """An operators' tool outside any service (``python -m jsp_common.<tool> <command>``): the shared settings
    (``JSP_KAFKA_*``, ``JSP_ENV_PREFIX``, ...), structured logging, and the same :class:`Command` entries."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for cmd, spec in commands.items():
        spec.arguments(sub.add_parser(cmd, help=spec.help, description=spec.help))
    args = parser.parse_args(argv)
    s = ServiceSettings(service_name=prog.rsplit(".", 1)[-1])
    configure_logging(s.service_name, s.log_level, s.log_json)
    return commands[args.cmd].run(s, args)
