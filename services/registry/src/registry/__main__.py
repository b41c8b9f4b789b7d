"""Commands: ``python -m registry migrate | serve | import FILE``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m registry")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="create or upgrade the registry's database (a separate start-up step)")
    sub.add_parser("serve", help="run the HTTP API, the intake consumer and the periodic jobs")
    imp = sub.add_parser("import", help="bulk-load an existing directory (CSV or JSON Lines) through COPY")
    imp.add_argument("file", type=Path)
    imp.add_argument("--format", choices=("csv", "jsonl"), default=None,
                     help="default: from the file name (.csv, .jsonl/.ndjson)")
    imp.add_argument("--rejects", type=Path, default=None,
                     help="where rejected rows go with their reasons (default: FILE.rejects.csv)")
    imp.add_argument("--batch-size", type=int, default=5000, help="lines checked by a worker at a time")
    imp.add_argument("--workers", type=int, default=None,
                     help="processes checking rows (default: one per CPU; 1: check in this process)")
    imp.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from .settings import Settings
    settings = Settings()
    if args.cmd == "migrate":
        from jsp_common.migrations import upgrade
        asyncio.run(upgrade(settings.service_dir, settings.database_url))
        print(f"registry database migrated: {settings.database_url.rsplit('/', 1)[-1]}")
        return 0
    if args.cmd == "serve":
        import uvicorn
        from jsp_common.logs import configure_logging
        from .main import create_app
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None)
        return 0
    if args.cmd == "import":
        from .importer import run_import
        fmt = args.format or ("jsonl" if args.file.suffix in (".jsonl", ".ndjson") else "csv")
        rejects = args.rejects or args.file.with_name(args.file.name + ".rejects.csv")
        report = asyncio.run(run_import(settings, args.file, fmt=fmt, rejects_path=rejects,
                                        batch_size=args.batch_size, progress=not args.no_progress,
                                        workers=args.workers))
        print(report.summary())
        return 0 if report.loaded or not report.read else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
