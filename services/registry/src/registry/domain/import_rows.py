"""Checking the rows of an import file: the same checks as the bureau's event contracts (USCC check
character, Henan division, GB/T 4754 class, dates), without building a pydantic model per row, and the
responsibility the rules in force give each. Pure: rows in, COPY text lines (or :class:`RowError`) out.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time as dtime
from typing import Any

from pydantic import ValidationError

from jsp_common import clock, divisions, industries, uscc as uscc_mod
from jsp_common.events.registry import CLOCK_SKEW, EARLIEST_DATE, Licence, MarketEntityRegistered

from .directory import ASSIGNMENT_FIELDS, REGISTRATION_FIELDS
from .rules import CompiledRules, Facts

# The columns of an import file (CSV header or JSON Lines keys): what registration says of an entity.
COLUMNS = REGISTRATION_FIELDS
REQUIRED = ("uscc", "name", "entity_type", "address", "division_code", "industry_code", "established_on")
STATUS = {"active": "active", "存续": "active", "在业": "active", "开业": "active", "在营": "active", "": "active",
          "deregistered": "deregistered", "注销": "deregistered", "revoked": "revoked", "吊销": "revoked"}
# What a checked row gives: columns of ``entities`` (the others take their defaults), by name.
DECIDED = (*ASSIGNMENT_FIELDS, "rule_version")
ENTITY_COLUMNS = (*REGISTRATION_FIELDS, "city_code", *DECIDED, "last_changed_at", "assignment_source")


def _most(field: str) -> int:
    """The longest text the bureau's registration event takes in ``field``."""
    info = MarketEntityRegistered.model_fields[field]
    return next(m.max_length for m in info.metadata if getattr(m, "max_length", None))


# The texts of a row in the order ``RowChecker.check`` gathers them, with the contract's limits.
_TEXT_LIMITS = tuple((f, _most(f)) for f in ("name", "entity_type", "legal_representative", "address",
                                             "business_scope", "registration_authority"))


class RowError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason



_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    """One field in COPY text format (NULL is \\N)."""
    if value is None:
        return "\\N"
    value = str(value)
    return value.translate(_COPY_ESCAPE) if _COPY_SPECIAL.search(value) else value


def _copy_array(items: tuple[str, ...]) -> str:
    inner = ",".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)
    return _copy_field("{" + inner + "}")


class RowChecker:
    """The same checks as the bureau's event contracts, without building a pydantic model per row."""

    def __init__(self, rules: CompiledRules, today: date):
        self.rules, self.latest = rules, today + CLOCK_SKEW
        self._latest_date = self.latest.date()
        self._divisions: dict[str, str | None] = {}
        self._industries: dict[str, str] = {}
        self._assign: dict[tuple, str] = {}
        self._licence_cache: dict[str, tuple[list[dict], str]] = {}
        self._changed: dict[date, str] = {}
        self._dates: dict[str, date] = {}
        self._version = str(rules.version)

    def _division(self, code: str) -> tuple[str, str | None]:
        if code not in self._divisions:
            try:
                divisions.get(code)
            except divisions.UnknownDivision as exc:
                raise RowError("division_code", str(exc)) from None
            self._divisions[code] = divisions.city_code(code)
        return code, self._divisions[code]

    def _industry(self, code: str) -> str:
        got = self._industries.get(code)
        if got is None:
            try:
                got = self._industries[code] = industries.validate_class(code)
            except industries.UnknownIndustry as exc:
                raise RowError("industry_code", str(exc)) from None
        return got

    def _date(self, name: str, value: Any, required: bool = False) -> date | None:
        if value in (None, ""):
            if required:
                raise RowError(name, "field required")
            return None
        got = self._dates.get(value) if isinstance(value, str) else None
        if got is None:
            got = self._parse_date(name, value)
            if isinstance(value, str):
                if len(self._dates) > 100_000:
                    self._dates.clear()
                self._dates[value] = got
        return got

    def _parse_date(self, name: str, value: Any) -> date:
        try:
            d = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
        except ValueError:
            raise RowError(name, f"not a date (YYYY-MM-DD): {value!r}") from None
        if d < EARLIEST_DATE:
            raise RowError(name, f"date {d.isoformat()} is before {EARLIEST_DATE.isoformat()}")
        if d > self._latest_date:
            raise RowError(name, f"date {d.isoformat()} is in the future")
        return d

    @staticmethod
    def _parse_licences(value: Any) -> list[dict]:
        if value in (None, ""):
            return []
        if isinstance(value, list):
            items = value
        elif isinstance(value, str) and value.lstrip().startswith("["):
            try:
                items = json.loads(value)
            except ValueError:
                raise RowError("licences", "not a JSON array") from None
        else:
            items = [{"type": t.strip()} for t in str(value).split(";") if t.strip()]
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not str(item.get("type") or "").strip():
                raise RowError(f"licences.{i}.type", "field required")
            kept = {k: item[k] for k in ("type", "number", "issued_on", "valid_until") if item.get(k)}
            try:  # as the contract states a licence: every event built from the record carries it
                Licence.model_validate(kept)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise RowError(".".join(["licences", str(i), *map(str, first["loc"])]), first["msg"]) from None
            out.append(kept)
        return out

    def _licences(self, value: Any) -> tuple[list[dict], str]:
        """The licences and their JSON (as a COPY field); most rows share a few licence texts."""
        if not isinstance(value, str):
            got = self._parse_licences(value)
            return got, _copy_field(json.dumps(got, ensure_ascii=False))
        cached = self._licence_cache.get(value)
        if cached is None:
            got = self._parse_licences(value)
            if len(self._licence_cache) > 100_000:
                self._licence_cache.clear()
            cached = self._licence_cache[value] = (got, _copy_field(json.dumps(got, ensure_ascii=False)))
        return cached

    def _assignment(self, division: str, industry: str, scope: str, licences: list[dict], *,
                    closed: bool) -> dict[str, str]:
        """The ``DECIDED`` columns: departments, domains, matched rules, assignment state, rule version (COPY
        fields). A closed business no rule matches waits for no one (no case for the office), as in the intake."""
        got = self._decided(division, industry, scope, licences)
        return {**got, "assignment_state": "assigned"} if closed and got["assignment_state"] == "adjudication" else got

    def _decided(self, division: str, industry: str, scope: str, licences: list[dict]) -> dict[str, str]:
        key = (division, industry, scope, tuple(lic["type"] for lic in licences))
        got = self._assign.get(key)
        if got is None:
            if len(self._assign) > 200_000:
                self._assign.clear()
            a = self.rules.evaluate(Facts(division, industry, scope, key[3]))
            got = self._assign[key] = dict(
                departments=_copy_array(a.departments), domains=_copy_array(a.domains),
                matched_rules=_copy_array(a.matched_rules),
                assignment_state="assigned" if a.departments else "adjudication", rule_version=self._version)
        return got

    def _changed_at(self, d: date) -> str:
        got = self._changed.get(d)
        if got is None:
            got = self._changed[d] = datetime.combine(d, dtime.min, tzinfo=clock.TZ).isoformat()
        return got

    def check(self, row: dict[str, Any]) -> str:
        """The ``ENTITY_COLUMNS`` of a good row in COPY text format (no newline); raise :class:`RowError` for a
        bad one."""
        get = row.get
        for name in REQUIRED:
            if get(name) in (None, ""):
                raise RowError(name, "field required")
        try:
            code = uscc_mod.validate(str(get("uscc")))
        except uscc_mod.InvalidUSCC as exc:
            raise RowError("uscc", str(exc)) from None
        name = str(get("name")).strip()
        if not name:
            raise RowError("name", "field required")
        division, city = self._division(str(get("division_code")).strip())
        industry = self._industry(str(get("industry_code")))
        established = self._date("established_on", get("established_on"), required=True)
        approved = self._date("approved_on", get("approved_on"))
        if approved and approved < established:
            raise RowError("approved_on", f"approved_on {approved} is before established_on {established}")
        status = STATUS.get(str(get("status") or "").strip().lower())
        if status is None:
            raise RowError("status", f"unknown status {get('status')!r} (active, deregistered, revoked, 存续, 注销, 吊销)")
        closed = self._date("closed_on", get("closed_on"))
        if closed and closed < established:
            raise RowError("closed_on", f"closed_on {closed} is before established_on {established}")
        licences, licences_text = self._licences(get("licences"))
        scope = str(get("business_scope") or "")
        entity_type, address = str(get("entity_type")).strip(), str(get("address")).strip()
        for field, value in (("entity_type", entity_type), ("address", address)):
            if not value:
                raise RowError(field, "field required")
        legal, authority = get("legal_representative") or None, get("registration_authority") or None
        text = (name, entity_type, "" if legal is None else str(legal), address, scope,
                "" if authority is None else str(authority))
        for (field, most), value in zip(_TEXT_LIMITS, text):
            if len(value) > most:
                raise RowError(field, f"at most {most} characters")
        joined = "".join(text)
        if "\x00" in joined:  # PostgreSQL stores none: the file's whole load would fail on it
            raise RowError(next(f for (f, _), v in zip(_TEXT_LIMITS, text) if "\x00" in v), "holds a NUL character")
        if _COPY_SPECIAL.search(joined):  # rarely: escape them
            name, entity_type, legal, address, scope, authority = (
                _copy_field(name), _copy_field(entity_type), _copy_field(legal), _copy_field(address),
                _copy_field(scope), _copy_field(authority))
        else:
            legal, authority = ("\\N" if legal is None else text[2]), ("\\N" if authority is None else text[5])
        columns = dict(
            uscc=code, name=name, entity_type=entity_type, legal_representative=legal, address=address,
            division_code=division, city_code=city or "\\N", industry_code=industry, business_scope=scope,
            licences=licences_text, status=status, established_on=established.isoformat(),
            approved_on=approved.isoformat() if approved else "\\N",
            closed_on=closed.isoformat() if closed else "\\N", registration_authority=authority,
            **self._assignment(division, industry, text[4], licences, closed=status != "active"),
            last_changed_at=self._changed_at(approved or established), assignment_source="rules")
        return "\t".join([columns[c] for c in ENTITY_COLUMNS])

