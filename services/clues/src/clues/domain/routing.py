"""Routing (分办): which domain a clue belongs to, and which departments lead (主办) and co-handle (协办).

Inputs: keyword rules over the Chinese content (data the office edits), the sender's domain hint (alone, it
goes to the lead that domain's rules name), the business's responsible departments from the registry replica,
and the place (a county's clue goes to its city's department). No usable answer → the office's manual dispatch
queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jsp_common import departments
from jsp_common.domains import Domain


@dataclass(frozen=True)
class Rule:
    keyword: str
    domain: Domain
    lead_agency: str
    co_agencies: tuple[str, ...] = ()
    priority: int = 0
    id: int | None = None


@dataclass(frozen=True)
class RoutingInput:
    content: str
    division_code: str | None = None            # the place of the matter
    domain_hint: Domain | None = None
    entity_departments: tuple[str, ...] = ()     # the business's responsible departments (registry)
    entity_division_code: str | None = None
    names: tuple[str, ...] = ()                  # business names in the text: not evidence of the matter


@dataclass(frozen=True)
class Route:
    domain: Domain
    lead: str
    co: tuple[str, ...]
    reason: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unroutable:
    reason: str
    domain: Domain | None = None
    keywords: tuple[str, ...] = field(default=())


def _covers(department_code: str, domain: Domain) -> bool:
    try:
        return domain in departments.department(department_code).agency.domains
    except departments.UnknownDepartment:
        return False


def _agency_of(department_code: str) -> str:
    return department_code.split("-", 1)[0]


def _at_place(agency: str, division: str) -> str | None:
    try:
        return departments.department_for(agency, division).code
    except departments.UnknownDepartment:
        return None


def domain_lead(domain: Domain, rules: list[Rule]) -> str | None:
    """The lead agency a domain's own rules name, for a clue that says only its domain: the lead of its
    highest-priority rules (among several, the one named by most of the domain's rules, then the one listed
    first). None for a domain without rules and for "other", which says nothing about who leads."""
    if domain is Domain.OTHER:
        return None
    best: dict[str, tuple[int, int, int]] = {}  # agency -> (its highest priority, its rules, -first position)
    for i, r in enumerate(rules):
        if r.domain == domain:
            top, n, first = best.get(r.lead_agency, (r.priority, 0, -i))
            best[r.lead_agency] = (max(top, r.priority), n + 1, first)
    return max(best, key=best.__getitem__) if best else None


def route(inp: RoutingInput, rules: list[Rule]) -> Route | Unroutable:
    text = inp.content
    for name in inp.names:  # "某某燃气有限公司无证销售处方药" is about drugs, whatever the company is called
        if name:
            text = text.replace(name, " ")
    hits = [r for r in rules if r.keyword and r.keyword in text]
    domain: Domain | None = None
    lead_agency: str | None = None
    co_agencies: list[str] = []
    keywords: tuple[str, ...] = ()
    if hits:
        by_domain: dict[Domain, list[Rule]] = {}
        for r in hits:
            by_domain.setdefault(r.domain, []).append(r)
        domain = max(by_domain, key=lambda d: (max(r.priority for r in by_domain[d]), len(by_domain[d])))
        chosen = sorted(by_domain[domain], key=lambda r: (-r.priority, r.keyword))
        lead_agency = chosen[0].lead_agency
        keywords = tuple(r.keyword for r in chosen)
        for r in chosen:
            for a in (r.lead_agency, *r.co_agencies):
                if a != lead_agency and a not in co_agencies:
                    co_agencies.append(a)
    elif inp.domain_hint is not None:
        domain = inp.domain_hint
    entity_depts = [d for d in inp.entity_departments if domain is None or _covers(d, domain)]
    if domain is None and inp.entity_departments:
        # Nothing in the text says what it is about, but the business's departments are known.
        domain = Domain.OTHER
        entity_depts = list(inp.entity_departments)
    if domain is None:
        return Unroutable("内容未匹配任何分派规则，来件也未说明领域或涉及企业")
    place = inp.division_code or inp.entity_division_code

    lead: str | None = None
    if lead_agency is None and entity_depts:
        lead = entity_depts[0]
    elif lead_agency is None:
        # A domain hint alone: the lead the domain's own rules name; none (or "other") → the office decides.
        lead_agency = domain_lead(domain, rules)
        if lead_agency is None:
            return Unroutable(f"来件所报领域（{domain.zh}）没有可据以确定主办部门的分派规则，由专班办公室人工分派",
                              domain, keywords)
    if lead is None:
        # The business's own department of the lead agency wins over the place's.
        lead = next((d for d in entity_depts if _agency_of(d) == lead_agency), None)
        if lead is None and place:
            lead = _at_place(lead_agency, place)
        if lead is None:
            return Unroutable("无法确定事发地：来件没有区划代码或河南省内地址，目录中也未找到涉及企业", domain,
                              keywords)
    co: list[str] = []
    for d in entity_depts:
        if d != lead and d not in co:
            co.append(d)
    if place:
        for a in co_agencies:
            d = _at_place(a, place)
            if d and d != lead and d not in co and _agency_of(d) not in {_agency_of(x) for x in co}:
                co.append(d)
    # The note the office and the departments read (Chinese, as the pages are).
    note = (f"按关键词分派：{'、'.join(keywords)}" if keywords else
            f"按来件所报领域（{domain.zh}）分派" if inp.domain_hint else "按涉及企业的监管部门分派")
    return Route(domain, lead, tuple(co), note, keywords)
