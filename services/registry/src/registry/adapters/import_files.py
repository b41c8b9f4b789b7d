"""Reading an import file (CSV or JSON Lines, millions of rows) in chunks of whole records."""

from __future__ import annotations

import csv
import io
import json
import re
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


# A JSON escape of half a surrogate pair: decoded alone it is no text (it cannot be written as UTF-8).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
NOT_UTF8 = "not UTF-8 text (a byte no UTF-8 character has, or half of a surrogate pair): save the file as UTF-8"


def _writable_as_utf8(value: Any) -> bool:
    """Whether a record read from the file is text that can be written as UTF-8."""
    try:
        (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)).encode()
        return True
    except UnicodeEncodeError:
        return False


def parse_chunk(chunk: Chunk, fmt: str, header: list[str] | None) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, error) for each record of a chunk. A record that is not UTF-8 text (a file
    saved as GBK, a lone surrogate escaped in JSON) is refused on its own, not the whole file."""
    try:
        text = chunk.data.decode("utf-8")
        suspect = fmt != "csv" and _SURROGATE_ESCAPE.search(text) is not None
    except UnicodeDecodeError:  # the bytes no UTF-8 character has become lone surrogates, refused row by row
        text, suspect = chunk.data.decode("utf-8", "surrogateescape"), True
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text, newline=""))
        base = chunk.first_line - 1
        for fields in reader:
            if not fields:
                continue
            if suspect and not _writable_as_utf8("".join(fields)):
                yield base + reader.line_num, None, NOT_UTF8
            else:
                yield base + reader.line_num, dict(zip(header, fields)), None
        return
    for n, line in enumerate(text.split("\n"), start=chunk.first_line):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            yield n, None, f"not JSON: {exc}" if _writable_as_utf8(line) else NOT_UTF8
            continue
        if suspect and not _writable_as_utf8(obj):
            yield n, None, NOT_UTF8
            continue
        yield n, obj if isinstance(obj, dict) else None, None if isinstance(obj, dict) else "not an object"
