"""A file sent as the request body (a CSV or JSON load): its media type and its text.

The text is decoded with the charset the Content-Type names (``text/csv; charset=gbk``: Excel's CSV on a Chinese
Windows is GBK), or as UTF-8 (a BOM allowed) when it names none. Bytes that are not text in that charset are
refused (422), never stored as replacement characters; a charset not known is a 415.
"""

from __future__ import annotations

import codecs

from fastapi import Request

from jsp_common.problems import Problem

# Beside every load's row limit: the gateway's limit on a request body (its max_body_bytes setting), which a
# batch of fewer rows than the limit can pass.
BODY_LIMIT = ("Through the gateway a request body is at most 1,000,000 bytes (its max_body_bytes setting; 413 "
              "beyond it, before anything is read): 2000 matters of modest size make some 1.3 MB as JSON (about "
              "half as CSV), so split a large load into requests under the byte limit as well as the row limit.")

# Python's codecs that are no charset a file is written in.
_NOT_CHARSETS = {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined"}


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def charset_of(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type header, or None."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').strip() or None
    return None


def _codec(charset: str) -> str:
    try:
        info = codecs.lookup(charset)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        reason = f"unknown charset {charset!r}: send the file as UTF-8 or name its charset (e.g. gbk, gb18030)"
        raise Problem(415, reason, errors=[{"field": "content-type", "reason": reason}])
    return info.name


async def text_of(request: Request) -> str:
    """The body as text (a leading BOM dropped), or a problem: 415 for a charset not known, 422 for bytes that are
    not text in the charset (UTF-8 when the Content-Type names none)."""
    charset = charset_of(request.headers.get("content-type", ""))
    codec = _codec(charset) if charset else "utf-8"
    raw = await request.body()
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        if charset:
            reason = f"the file is not {charset} text (byte {exc.start} cannot be read): nothing was written"
        else:
            reason = (f"the file is not UTF-8 text (byte {exc.start} cannot be read): save it as UTF-8, or name its "
                      "charset in the Content-Type (e.g. text/csv; charset=gbk); nothing was written")
        raise Problem(422, reason, errors=[{"field": "body", "reason": reason}]) from None
    return text.removeprefix("\ufeff")
