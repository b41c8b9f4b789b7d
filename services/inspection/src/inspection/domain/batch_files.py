"""A batch of matters as a file: CSV (one matter per line) or JSON (a list of matters, or ``{"matters": [...]}``).

CSV columns: ``code,name,domain,division_code,kind,lead_department,cooperating_departments,legal_basis,items,
effective_from``; ``cooperating_departments`` separated by ``;``; ``items`` as ``code:department:title``
separated by ``;``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from typing import Any

from .matters import MAX_BATCH_ROWS

CSV_COLUMNS = ("code", "name", "domain", "division_code", "kind", "lead_department", "cooperating_departments",
               "legal_basis", "items", "effective_from")


CSV_DESCRIPTION = ("A CSV file (UTF-8, a BOM allowed, or in the charset the Content-Type names, e.g. "
                   "text/csv; charset=gbk) whose header names the columns " + ", ".join(CSV_COLUMNS)
                   + "; one matter per line, its fields as in MatterIn: cooperating_departments separated by ';', "
                   "items as code:department:title separated by ';'. Every matter is on the batch's list; at most "
                   f"{MAX_BATCH_ROWS} matters (422 for more, nothing published).")


class UnreadableFile(ValueError):
    pass


def _too_many() -> UnreadableFile:
    return UnreadableFile(f"the file holds more than {MAX_BATCH_ROWS} matters, the most one batch publishes: "
                          "split it into batches; nothing was published")


def _items(text: str) -> list[dict[str, str]]:
    out = []
    for part in (p.strip() for p in text.split(";")):
        if part:
            code, _, rest = part.partition(":")
            department, _, title = rest.partition(":")
            out.append({"code": code.strip(), "department": department.strip(), "title": title.strip()})
    return out


def read_csv(text: str) -> list[dict[str, Any]]:
    """Rows as dicts (``row``: the line number), or :class:`UnreadableFile` when the header is wrong or the file
    holds more matters than a batch (read no further)."""
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        read = [] if missing else list(itertools.islice(reader, MAX_BATCH_ROWS + 1))
    except csv.Error as exc:
        raise UnreadableFile(f"not a readable CSV file: {exc}") from None
    if missing:
        raise UnreadableFile(f"the CSV header lacks: {', '.join(missing)} (columns: {','.join(CSV_COLUMNS)})")
    if len(read) > MAX_BATCH_ROWS:
        raise _too_many()
    rows = []
    for line, r in enumerate(read, start=2):
        rows.append({"row": line, "code": r["code"], "name": r["name"], "domain": r["domain"],
                     "division_code": r["division_code"], "kind": r["kind"], "lead_department": r["lead_department"],
                     "cooperating_departments": [d.strip() for d in (r["cooperating_departments"] or "").split(";") if d.strip()],
                     "legal_basis": r["legal_basis"] or "", "items": _items(r["items"] or ""),
                     "effective_from": r["effective_from"]})
    return rows


def read_json(text: str) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:   # RecursionError: nested deeper than the parser goes
        raise UnreadableFile(f"not JSON: {exc}") from None
    rows = doc.get("matters") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UnreadableFile("a JSON batch is a list of matters or {\"matters\": [...]}")
    if len(rows) > MAX_BATCH_ROWS:
        raise _too_many()
    return [{**r, "row": n} for n, r in enumerate(rows, start=1)]
