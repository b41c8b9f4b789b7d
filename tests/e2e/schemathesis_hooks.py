"""Schemathesis hooks for the platform's published OpenAPI: strategies for the string formats it declares
beyond JSON Schema's own (loaded through SCHEMATHESIS_HOOKS by tests/e2e/test_schemathesis.py)."""

from __future__ import annotations

import copy
import csv
import io
import os
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import schemathesis
from hypothesis import strategies as st

from jsp_common import departments, divisions, uscc
from jsp_common.domains import Domain

CSV_COLUMNS = ("code", "name", "domain", "division_code", "kind", "lead_department", "cooperating_departments",
               "legal_basis", "items", "effective_from")  # services/inspection: domain/batch_files.py

# Unified Social Credit Code (GB 32100-2015): registration authority, entity type, division, organisation
# code and the check character computed from the other seventeen.
_first17 = st.builds(lambda head, division, body: head + division + body,
                     st.sampled_from(["91", "92", "93", "11", "12", "52"]),
                     st.sampled_from([d.code for d in divisions.all_divisions()]),
                     st.text(alphabet=uscc.ALPHABET, min_size=9, max_size=9))
schemathesis.openapi.format("uscc", _first17.map(uscc.with_check_char))


# Dates and moments of events lie between the contract's earliest date and now (described in the schema, not
# expressible in it): the generated bodies that put one outside are not sent.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)  # the latest of the contracts' earliest dates (received_at)
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ][0-9:.]+([Zz]|[+-]\d{2}:\d{2})?)?$")


def _outside(node: Any, now: datetime) -> bool:
    if isinstance(node, dict):
        return any(_outside(v, now) for v in node.values())
    if isinstance(node, list):
        return any(_outside(v, now) for v in node)
    if isinstance(node, str) and _MOMENT.match(node):
        try:
            moment = datetime.fromisoformat(node.replace("z", "Z").replace("t", "T"))
        except ValueError:
            return False
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return not EARLIEST <= moment <= now
    return False


# ... and come in their order (a licence is valid until after it was issued; a change is approved after the
# establishment).
ORDERED = (("issued_on", "valid_until"), ("established_on", "approved_on"))


def _out_of_order(node: Any) -> bool:
    if isinstance(node, list):
        return any(_out_of_order(v) for v in node)
    if not isinstance(node, dict):
        return False
    for first, then in ORDERED:
        a, b = node.get(first), node.get(then)
        if isinstance(a, str) and isinstance(b, str) and b < a:
            return True
    return any(_out_of_order(v) for v in node.values())


@schemathesis.hook
def filter_body(ctx, body):
    return not _outside(body, datetime.now(timezone.utc)) and not _out_of_order(body)


# --- The coverage phase's enumerations --------------------------------------------------------------------
# The coverage phase sends a positive case for every value of an enumeration, in every place one is used: with
# some 270 departments and 175 divisions, an operation that names a department in three places (a matter's lead,
# its cooperating departments, its items) gets over 800 cases that differ only in which department they name. Of
# the positive coverage cases alike but for the department, agency or division they name, a few are sent; every
# other case (each boundary, each missing or optional field, every negative case) is sent as made.
ENUM_SAMPLES = 2
_CODE_KINDS = {**{d.code: "<division>" for d in divisions.all_divisions()},
               **{a.code: "<agency>" for a in departments.agencies()},
               **{d.code: "<department>" for d in departments.all_departments()}}
_sent: dict[tuple, int] = {}


def _shape(node: Any) -> Any:
    """``node`` with every department, agency and division code replaced by its kind."""
    if isinstance(node, dict):
        return tuple((k, _shape(v)) for k, v in node.items())
    if isinstance(node, (list, tuple)):
        return ("[", *(_shape(v) for v in node))
    if isinstance(node, str):
        return _CODE_KINDS.get(node, node)
    return repr(node)


@schemathesis.hook
def filter_case(ctx, case):
    meta = case.meta
    if meta is None or meta.phase.name != "coverage" or not meta.generation.mode.is_positive:
        return True
    key = (case.operation.method, case.operation.path, case.media_type, *map(_shape, (
        case.path_parameters, case.query, case.headers, case.cookies, case.body)))
    _sent[key] = _sent.get(key, 0) + 1
    return _sent[key] <= ENUM_SAMPLES


# --- Rules across fields ----------------------------------------------------------------------------------
# JSON Schema states each field on its own; a few rules tie fields together (the operations' descriptions say
# them, and the service answers a body that breaks one with 422 naming the fields). A schema-valid body made
# at random almost always breaks them (an item's department is one of the matter's, drawn from some 270), so
# a *positive* case is made to keep them, changing only values the schema allows: what is then sent is still
# what the schema calls valid, and the check that it is accepted stands. Negative cases are left as made.
# Who the caller is decides a field for two operations (the office names a plan's or an inspector's
# department; a department acts for itself): the test passes the role in JSP_SCHEMATHESIS_ROLE.
ROLE = os.environ.get("JSP_SCHEMATHESIS_ROLE", "office")
OWN_DEPARTMENT = os.environ.get("JSP_SCHEMATHESIS_DEPARTMENT") or None
SOME_DEPARTMENT = "samr-410000"


def _positive(case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _unique(values: list[str], limit: int) -> list[str]:
    """The values made distinct by a numbered suffix, each still within ``limit`` characters."""
    seen: set[str] = set()
    out = []
    for n, v in enumerate(values):
        if v in seen:
            v = f"{v[:limit - 1 - len(str(n))]}-{n}"
        seen.add(v)
        out.append(v)
    return out


def _of_list(code: Any, division: str) -> Any:
    """A department of ``code``'s agency on the list of ``division`` (a matter's departments are its list's), samr's
    when the agency has none at that level; ``code`` as it was when it is no department."""
    if not isinstance(code, str):
        return code
    try:
        agency = departments.department(code).agency
    except (departments.UnknownDepartment, ValueError):
        return code
    level = "province" if division == divisions.PROVINCE_CODE else "city"
    return departments.department_code(agency.code if agency.exists_at(level) else "samr", division)


def _consistent_departments(doc: dict, division: str = divisions.PROVINCE_CODE) -> None:
    """A matter's departments are of its list (``division``: a promotion's is the province's); its lead is not
    also cooperating; each item is the lead's or a cooperating department's; item codes are distinct."""
    division = doc.get("division_code") if isinstance(doc.get("division_code"), str) else division
    lead = doc.get("lead_department")
    if not isinstance(lead, str):
        return
    if division in _LISTS:
        lead = doc["lead_department"] = _of_list(lead, division)
        if isinstance(doc.get("cooperating_departments"), list):
            doc["cooperating_departments"] = [_of_list(d, division) for d in doc["cooperating_departments"]]
    co = [d for d in dict.fromkeys(doc.get("cooperating_departments") or []) if d != lead]
    if "cooperating_departments" in doc:
        doc["cooperating_departments"] = co
    owners = [lead, *co]
    items = [i for i in doc.get("items") or [] if isinstance(i, dict)]
    for n, item in enumerate(items):
        item["department"] = owners[n % len(owners)]
    codes = _unique([str(i.get("code", "")) for i in items], 64)
    for item, code in zip(items, codes):
        item["code"] = code


def _batch(case) -> None:
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("matters"), list):
        return
    for matter, code in zip(body["matters"], _unique([str(m.get("code", "")) for m in body["matters"]], 64)):
        matter["code"] = code
        matter["division_code"] = body.get("division_code")
        _consistent_departments(matter)


def _batch_file(case) -> None:
    if isinstance(case.body, list):
        rows = [r for r in case.body if isinstance(r, dict)]
        for r, code in zip(rows, _unique([str(r.get("code", "")) for r in rows], 64)):
            r["code"] = code
            r["division_code"] = (case.query or {}).get("division_code")
            _consistent_departments(r)
    elif isinstance(case.body, str) and case.query and "division_code" in case.query:
        # the CSV strategy (below) makes one list's rows: the batch is that list's
        first = next(csv.DictReader(io.StringIO(case.body)), None)
        if first:
            case.query["division_code"] = first["division_code"]


def _inspectors(case) -> None:
    rows = case.body if isinstance(case.body, list) else None
    if rows is None:
        return
    for r in rows:
        if isinstance(r, dict):
            if ROLE == "office":
                r["department"] = r.get("department") or SOME_DEPARTMENT
            else:
                r.pop("department", None)
    certs = _unique([str(r.get("certificate_no", "")) for r in rows if isinstance(r, dict)], 64)
    for r, c in zip([r for r in rows if isinstance(r, dict)], certs):
        r["certificate_no"] = c


def _plan(case) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    if ROLE == "office":
        body["department"] = body.get("department") or SOME_DEPARTMENT
        if isinstance(body.get("filter"), dict):  # within the named department's place (the province's: any)
            body["filter"].pop("division_code", None)
    else:
        body.pop("department", None)
    start, end = body.get("period_start"), body.get("period_end")
    if isinstance(start, str) and isinstance(end, str):
        a, b = date.fromisoformat(start), date.fromisoformat(end)
        if not 0 <= (b - a).days <= 366:
            body["period_end"] = start


def _in_year(day: date, year: int) -> date:
    return day.replace(year=year, day=min(day.day, 28)) if day.month == 2 else day.replace(year=year)


# Schedules are uploaded and corrected only for years far ahead (FAR_YEARS, within the path's bounds): the stack's
# services, and those of the other tests on the same broker, take each published schedule, and one made up for
# a year they count deadlines in would move them.
FAR_YEARS = range(2098, 2101)  # clear of the years other tests publish (2092-2097)


def _far(year: int) -> int:
    return year if year in FAR_YEARS else FAR_YEARS[year % len(FAR_YEARS)]


def _schedule(case) -> None:
    body, year = case.body, int(case.path_parameters.get("year", 0) or 0)
    if not isinstance(body, dict) or not year:
        return
    year = _far(year)
    case.path_parameters["year"] = year
    holidays = list(dict.fromkeys(_in_year(date.fromisoformat(d), year) for d in body.get("holidays") or []))
    makeup = []
    for d in body.get("makeup_workdays") or []:
        day = _in_year(date.fromisoformat(d), year)
        if day.weekday() < 5:  # the Saturday of its week, or the Sunday before it when that is next year
            saturday = day + timedelta(days=5 - day.weekday())
            day = saturday if saturday.year == year else day - timedelta(days=day.weekday() + 1)
        if day not in holidays and day not in makeup:
            makeup.append(day)
    if holidays:
        body["holidays"] = [d.isoformat() for d in holidays]
    if "makeup_workdays" in body:
        body["makeup_workdays"] = [d.isoformat() for d in makeup]


def _day(case) -> None:
    day = date.fromisoformat(str(case.path_parameters.get("day")))
    case.path_parameters["day"] = _in_year(day, _far(day.year)).isoformat()


DEVICE_SOURCES = ("device_out_of_range", "device_silent")
LEVELS = ("blue", "yellow", "orange", "red")


def _risk_model(case) -> None:
    body = case.body
    model = body.get("model") if isinstance(body, dict) and "model" in body else body
    if not isinstance(model, dict):
        return
    metrics = [m for m in model.get("metrics") or [] if isinstance(m, dict)]
    for m, name in zip(metrics, _unique([str(m.get("metric", "")) for m in metrics], 64)):
        m["metric"] = name.replace("-", "_")
    indicators = [i for i in model.get("indicators") or [] if isinstance(i, dict)]
    for i, code in zip(indicators, _unique([str(i.get("code", "")) for i in indicators], 64)):
        i["code"] = code.replace("-", "_")
        if i.get("source") in DEVICE_SOURCES and metrics:
            i["metric"] = metrics[0]["metric"]
        elif i.get("source") in DEVICE_SOURCES:
            i["source"] = "clue_received"
            i.pop("metric", None)
        else:
            i.pop("metric", None)
    # the four levels in order, each ending where the next starts, red without an end
    levels = [lv for lv in model.get("levels") or [] if isinstance(lv, dict)]
    starts = sorted({float(lv.get("min_score", 1)) for lv in levels})
    while len(starts) < 4:
        starts.append((starts[-1] if starts else 1.0) + 1.0)
    for n, lv in enumerate(levels[:4]):
        lv["level"], lv["min_score"] = LEVELS[n], starts[n]
        lv["max_score"] = starts[n + 1] if n < 3 else None
    plans = [p for p in model.get("plans") or [] if isinstance(p, dict)]
    for n, p in enumerate(plans[:4]):
        p["level"] = LEVELS[n]
        if p.get("respond_within_hours") and p.get("respond_within_workdays"):  # one deadline, not both
            p.pop("respond_within_workdays")
        if p.get("escalate_when_unanswered") and not (p.get("respond_within_hours") or p.get("respond_within_workdays")):
            p["escalate_when_unanswered"] = False  # escalating needs a deadline
    codes = [i["code"] for i in indicators]
    for r in [r for r in model.get("credit_rules") or [] if isinstance(r, dict)]:
        if r.get("indicator") is not None and codes:  # by an indicator of the model, counted
            r["indicator"] = codes[0]
            r["min_count"] = r.get("min_count") or 1
            r.pop("min_score", None)
        else:  # or by the score
            r.pop("indicator", None)
            r.pop("min_count", None)
            r["min_score"] = r.get("min_score") if r.get("min_score") is not None else 1


CROSS_FIELD = {("POST", "/inspection/batches"): _batch, ("POST", "/inspection/matters/{code}/promotion"):
               _consistent_departments, ("POST", "/inspection/batches/file"): _batch_file,
               ("POST", "/inspection/inspectors"): _inspectors, ("POST", "/inspection/plans"): _plan,
               ("PUT", "/calendar/years/{year}"): _schedule, ("PUT", "/calendar/days/{day}"): _day,
               ("POST", "/risk/models"): _risk_model, ("POST", "/risk/models/dry-run"): _risk_model}


def _with_valid_usccs(node: Any) -> Any:
    """``node`` with every text at a ``uscc`` key (or in a list of them) that is no valid code made one, keeping what
    it can: the coverage phase builds its values from the pattern alone (``format: uscc`` aside), and the smallest
    match of the head pattern ('11', then zeros) has no valid check character."""
    if isinstance(node, dict):
        return {k: _valid_uscc(v) if k in ("uscc", "conflicts") else _with_valid_usccs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_valid_usccs(v) for v in node]
    return node


def _valid_uscc(value: Any) -> Any:
    if isinstance(value, list):
        return [_valid_uscc(v) for v in value]
    if not isinstance(value, str) or len(value) != 18 or uscc.is_valid(value):
        return value
    body = "".join(c if c in uscc.ALPHABET else "0" for c in value[8:17])
    return uscc.with_check_char("91410100" + body)


@schemathesis.hook
def map_case(ctx, case):
    if _positive(case):  # a positive case's USCCs valid, each case its own copy (see below)
        case.body, case.query, case.path_parameters = map(_with_valid_usccs, (case.body, case.query,
                                                                               case.path_parameters))
    repair = CROSS_FIELD.get((case.operation.method.upper(), case.operation.path))
    if repair is not None and _positive(case):
        # The coverage phase makes its cases around one body, query and path it shares between them, and sends
        # them only once all are made: each repaired case gets its own copy, or the last repair would be every one's.
        case.body, case.query, case.path_parameters = map(copy.deepcopy, (case.body, case.query, case.path_parameters))
        if repair is _consistent_departments:
            if isinstance(case.body, dict):
                repair(case.body)
        else:
            repair(case)
    return case


# --- The CSV uploads --------------------------------------------------------------------------------------
# Their bodies are CSV documents whose columns the operations describe (format matters-csv, inspectors-csv):
# made here as a user's spreadsheet would be, the row rules above kept.
def _text(min_size: int = 1, max_size: int = 30):
    return st.text(alphabet=st.characters(categories=["L", "N"]), min_size=min_size, max_size=max_size)


_DEPARTMENTS = sorted(d.code for d in departments.all_departments())
_LISTS = [divisions.PROVINCE_CODE, *sorted(d.code for d in divisions.cities())]
_DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date.today())


@st.composite
def _matters_csv(draw) -> str:
    division = draw(st.sampled_from(_LISTS))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    codes = _unique(draw(st.lists(st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True), min_size=1, max_size=3)), 64)
    for code in codes:
        matter = {"division_code": division, "lead_department": draw(st.sampled_from(_DEPARTMENTS)),
                  "cooperating_departments": draw(st.lists(st.sampled_from(_DEPARTMENTS), max_size=2)),
                  "items": [{"code": c} for c in draw(st.lists(st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
                                                               min_size=1, max_size=3))]}
        _consistent_departments(matter)
        writer.writerow([code, draw(_text()), draw(st.sampled_from([d.value for d in Domain])), division,
                         draw(st.sampled_from(["key", "general"])), matter["lead_department"],
                         ";".join(matter["cooperating_departments"]), draw(_text(0)),
                         ";".join(f"{i['code']}:{i['department']}:{draw(_text(0, 10))}" for i in matter["items"]),
                         draw(_DAYS).isoformat()])
    return out.getvalue()


@st.composite
def _inspectors_csv(draw) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["department", "name", "certificate_no", "certificate_valid_until", "fields", "division_code",
                     "active", "conflicts"])
    certs = _unique(draw(st.lists(st.from_regex(r"[0-9A-Za-z]{1,20}", fullmatch=True), min_size=1, max_size=3)), 64)
    for cert in certs:
        writer.writerow([SOME_DEPARTMENT if ROLE == "office" else "", draw(_text()), cert,
                         draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))).isoformat(),
                         ";".join(draw(st.lists(_text(), max_size=2))), draw(st.sampled_from(_LISTS)),
                         draw(st.sampled_from(["true", "false"])), ";".join(draw(st.lists(_first17.map(uscc.with_check_char), max_size=2)))])
    return out.getvalue()


schemathesis.openapi.format("matters-csv", _matters_csv())
schemathesis.openapi.format("inspectors-csv", _inspectors_csv())
