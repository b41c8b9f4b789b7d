"""Responsibility rules (监管职责规则): which department(s) must supervise an entity. Pure; no I/O.

A rule names agencies (``samr``, ``mem``, ...) and says when it applies: an industry code prefix
(section letter, division, group or class of GB/T 4754-2017), a licence type, or a keyword in the
business scope (经营范围). Any one criterion is enough. A rule may be limited to some divisions (a
city's code covers its counties). The department is the agency at the entity's city
(``department_for``: a county's entity goes to its city's department; an agency that exists only at
province level gives the province's), or at the province when the rule says ``level: province``.

Keywords in a negated clause of the business scope do not count: "化工产品销售（不含危险化学品）",
"（危险化学品除外）", "未经批准，不得从事融资担保" name what the entity may *not* do. A "…除外" outside
parentheses negates only the item it names: in "预包装食品销售、危险化学品除外" the food sale counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from jsp_common import departments, divisions, industries
from jsp_common.api_types import PRINTABLE, AgencyCode, DivisionCode, IndustryPrefix

PrintableText = Annotated[str, Field(pattern=PRINTABLE)]  # no control characters (no NUL in the database)
# A licence type or scope keyword: never empty (an empty one is in every text: the rule would match everything).
Term = Annotated[str, Field(min_length=1, max_length=100, pattern=PRINTABLE)]
MAX_TERMS = 200  # per list of a rule's match
from jsp_common.domains import Domain

# A negated clause runs from its marker to the next clause boundary. "…除外" negates what it names: at the end of
# a parenthesis, the list of its last clause ("（危险化学品、易制毒化学品除外）", "（含预包装食品；危险化学品除外）": the
# food still counts), else the one item before it, back to the last 、 or other separator
# ("预包装食品销售、危险化学品除外": the food sale still counts).
_NEGATED = re.compile(r"(?:不含|不得|不涉及|不包括|禁止|严禁|未经[^，,；;。）)\n]*批准)[^，,；;。）)\n]*"
                      r"|(?<=[（(，,；;。])[^，,；;。（()）\n]*除外(?=[）)])"
                      r"|[^，,；;。、（(\n]*除外")


class RuleMatch(BaseModel):
    # at least one criterion (the validator below), stated in the schema too
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"anyOf": [
        {"required": [k], "properties": {k: {"minItems": 1}}}
        for k in ("industries", "licence_types", "scope_keywords")]})

    industries: list[IndustryPrefix] = Field(default_factory=list, max_length=MAX_TERMS,
                                             description="GB/T 4754 prefixes: 'C', '14', '526', '5265'")
    licence_types: list[Term] = Field(default_factory=list, max_length=MAX_TERMS,
                                      description="matched as a substring of the licence type")
    scope_keywords: list[Term] = Field(default_factory=list, max_length=MAX_TERMS,
                                       description="matched in the business scope")

    @field_validator("industries")
    @classmethod
    def _industries(cls, v: list[str]) -> list[str]:
        for p in v:
            ok = (len(p) == 1 and p.isalpha() and industries.get(p.upper()).level == "section") or \
                 (p.isdigit() and 2 <= len(p) <= 4 and industries.get(p[:2]).level == "division")
            if not ok:
                raise ValueError(f"industry prefix {p!r}: use a section letter or 2-4 digits of a known division")
        return [p.upper() for p in v]

    @model_validator(mode="after")
    def _something(self) -> "RuleMatch":
        if not (self.industries or self.licence_types or self.scope_keywords):
            raise ValueError("a rule must match on at least one industry, licence type or scope keyword")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    domain: Domain
    description: PrintableText = ""
    agencies: list[AgencyCode] = Field(min_length=1)
    match: RuleMatch
    divisions: list[DivisionCode] = Field(default_factory=list,
                                          description="only entities in these divisions (empty: all)")
    level: Literal["local", "province"] = "local"
    enabled: StrictBool = True

    @field_validator("agencies")
    @classmethod
    def _agencies(cls, v: list[str]) -> list[str]:
        return [departments.agency(a).code for a in v]

    @field_validator("divisions")
    @classmethod
    def _divisions(cls, v: list[str]) -> list[str]:
        return [divisions.get(d).code for d in v]


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> "RuleSet":
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise ValueError(f"rule id {r.id!r} is used twice")
            seen.add(r.id)
        return self


@dataclass(frozen=True)
class Facts:
    """What the rules look at."""

    division_code: str
    industry_code: str
    business_scope: str = ""
    licence_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    departments: tuple[str, ...]
    matched_rules: tuple[str, ...]
    domains: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.departments


def affirmative_scope(scope: str) -> str:
    """The business scope with its negated clauses removed."""
    return _NEGATED.sub("", scope or "")


@dataclass
class CompiledRules:
    """A rule set prepared for evaluating many entities quickly (one regex pass over the scope)."""

    version: int
    rules: list[Rule]
    _keyword_re: re.Pattern | None = field(init=False, default=None)
    # For each keyword, the keywords it starts with (itself included): found where it is found.
    _prefixes: dict[str, frozenset[str]] = field(init=False, default_factory=dict, repr=False)
    # Answers already worked out: many entities share division, industry, scope and licences.
    _memo: dict[Facts, Assignment] = field(init=False, default_factory=dict, repr=False)
    MEMO_SIZE = 100_000

    def __post_init__(self) -> None:
        self.rules = [r for r in self.rules if r.enabled]
        words = sorted({k for r in self.rules for k in r.match.scope_keywords}, key=len, reverse=True)
        # A lookahead matches at every position, so keywords inside or overlapping others are found too;
        # at one position the longest wins, and the shorter ones there are its prefixes.
        self._keyword_re = re.compile(f"(?=({'|'.join(map(re.escape, words))}))") if words else None
        self._prefixes = {w: frozenset(k for k in words if w.startswith(k)) for w in words}

    @classmethod
    def from_json(cls, version: int, rules: list[dict]) -> "CompiledRules":
        return cls(version, RuleSet(rules=rules).rules)

    @cached_property
    def _division_sets(self) -> dict[str, frozenset[str]]:
        return {r.id: frozenset(r.divisions) for r in self.rules if r.divisions}

    def _in_divisions(self, rule: Rule, division_code: str, city_code: str | None) -> bool:
        allowed = self._division_sets.get(rule.id)
        if not allowed:
            return True
        return divisions.PROVINCE_CODE in allowed or division_code in allowed or (city_code in allowed)

    def keywords_in(self, scope: str) -> set[str]:
        """Every rule keyword in the affirmative part of ``scope``, also where one lies inside another."""
        if not self._keyword_re or not scope:
            return set()
        found: set[str] = set()
        for word in set(self._keyword_re.findall(affirmative_scope(scope))):
            found |= self._prefixes[word]
        return found

    def evaluate(self, facts: Facts) -> Assignment:
        got = self._memo.get(facts)
        if got is None:
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            got = self._memo[facts] = self._evaluate(facts)
        return got

    def _evaluate(self, facts: Facts) -> Assignment:
        city = divisions.city_code(facts.division_code)
        words = self.keywords_in(facts.business_scope)
        depts: set[str] = set()
        matched: list[str] = []
        doms: list[str] = []
        for rule in self.rules:
            m = rule.match
            hit = (
                (m.industries and industries.matches(facts.industry_code, m.industries))
                or (m.licence_types and any(lt in t for lt in m.licence_types for t in facts.licence_types))
                or (m.scope_keywords and not words.isdisjoint(m.scope_keywords))
            )
            if not hit or not self._in_divisions(rule, facts.division_code, city):
                continue
            where = divisions.PROVINCE_CODE if rule.level == "province" else facts.division_code
            for agency in rule.agencies:
                try:
                    depts.add(departments.department_for(agency, where).code)
                except departments.UnknownDepartment:
                    continue
            matched.append(rule.id)
            if rule.domain.value not in doms:
                doms.append(rule.domain.value)
        return Assignment(tuple(sorted(depts)), tuple(matched), tuple(doms))


def changed_rules(current: CompiledRules, proposed: CompiledRules) -> list[Rule]:
    """The rules (as in either set, enabled ones) that one set has and the other has not, or has otherwise.
    An entity's departments come from the rules that match it alone, so only an entity that one of these
    matches can be assigned differently under ``proposed`` than under ``current``."""
    before, after = {r.id: r for r in current.rules}, {r.id: r for r in proposed.rules}
    return [r for rid in sorted(before.keys() | after.keys()) if before.get(rid) != after.get(rid)
            for r in (before.get(rid), after.get(rid)) if r is not None]


def compare(old: Iterable[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """(added, removed) departments."""
    o, n = set(old), set(new)
    return sorted(n - o), sorted(o - n)
