"""Reading an import file (CSV or JSON Lines, millions of rows) in chunks of whole records."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Iterator

from ..domain.import_rows import REQUIRED


def progress_bar(total: int, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, desc="import", disable=not enabled, mininterval=0.5)


@dataclass
class Chunk:
    first_line: int   # physical line number of its first line (1 = the file's first line)
    lines: int
    data: bytes


def read_chunks(fh, fmt: str, rows: int, line_no: int) -> Iterator[Chunk]:
    """Whole records, about ``rows`` lines at a time from line ``line_no`` on; a CSV chunk never ends inside a
    quoted field."""
    while lines := list(islice(fh, rows)):
        data = b"".join(lines)
        if fmt == "csv":
            quotes = data.count(b'"')
            while quotes % 2 and (more := fh.readline()):  # a quoted field runs on: take lines until it ends
                lines.append(more)
                quotes += more.count(b'"')
            data = b"".join(lines)
        yield Chunk(line_no, len(lines), data)
        line_no += len(lines)


def csv_header(fh, path: Path) -> list[str]:
    first = fh.readline().decode("utf-8-sig")
    header = next(csv.reader([first]), [])
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SystemExit(f"{path}: the header lacks the columns {', '.join(missing)}")
    return header


def parse_chunk(chunk: Chunk, fmt: str, header: list[str] | None) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, error) for each record of a chunk."""
    text = chunk.data.decode("utf-8")
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        base = chunk.first_line - 1
        for fields in reader:
            if fields:
                yield base + reader.line_num, dict(zip(header, fields)), None
        return
    for n, line in enumerate(text.split("\n"), start=chunk.first_line):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield n, None, f"not JSON: {exc}"
            continue
        yield n, obj if isinstance(obj, dict) else None, None if isinstance(obj, dict) else "not an object"
