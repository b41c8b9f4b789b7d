"""Commands: ``python -m registry migrate | serve | import FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

from jsp_common.cli import Command, run_loop, service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]


def import_arguments(parser) -> None:
    parser.add_argument("file", type=Path)
    parser.add_argument("--format", choices=("csv", "jsonl"), default=None,
                        help="default: from the file name (.csv, .jsonl/.ndjson)")
    parser.add_argument("--rejects", type=Path, default=None,
                        help="where rejected rows go with their reasons (default: FILE.rejects.csv)")
    parser.add_argument("--batch-size", type=int, default=5000, help="lines checked by a worker at a time")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes checking rows (default: one per CPU; 1: check in this process)")
    parser.add_argument("--no-progress", action="store_true")


def bulk_import(settings, args) -> int:
    from .usecases.bulk_import import run_import

    fmt = args.format or ("jsonl" if args.file.suffix in (".jsonl", ".ndjson") else "csv")
    rejects = args.rejects or args.file.with_name(args.file.name + ".rejects.csv")
    report = run_loop(run_import(settings, args.file, fmt=fmt, rejects_path=rejects, batch_size=args.batch_size,
                                 progress=not args.no_progress, workers=args.workers))
    print(report.summary())
    return 0 if report.loaded or not report.read else 1


def main(argv: list[str] | None = None) -> int:
    from .app import create_app
    from .settings import Settings

    settings = Settings()
    return service_main(name="registry", service_dir=SERVICE_DIR, settings=lambda: settings,
                        create_app=create_app, argv=argv, commands={"import": Command(
                            "bulk-load an existing directory (CSV or JSON Lines) through COPY", bulk_import,
                            import_arguments)})


if __name__ == "__main__":
    sys.exit(main())
