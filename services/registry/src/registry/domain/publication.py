"""Publishing a rule set that empties or nearly empties the rules in force, or that moves a large share of
the directory, needs the office's explicit confirmation naming the consequence. Pure; no I/O.

Without rules every new registration waits for adjudication, so such a change is never made by a slip:
the first attempt is refused with the consequence (from the dry-run) and the phrase to send back as
``confirm``; the same request with that phrase publishes. The phrase names the numbers, so a confirmation
given for other numbers (the directory changed meanwhile) does not count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Consequence:
    rules_in_force: int        # enabled rules of the version in force
    rules_after: int           # enabled rules of the proposed version
    directory: int             # active, rule-assigned entities (those the rules decide)
    moved: int                 # of them, how many would change responsible departments
    to_adjudication: int       # of those, how many would be left without a department

    @property
    def moved_share(self) -> float:
        return self.moved / self.directory if self.directory else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "moved_share": round(self.moved_share, 4)}


@dataclass(frozen=True)
class Thresholds:
    keep_share: float          # fewer enabled rules than this share of those in force: "nearly empty"
    move_share: float          # moving more than this share of the directory: "a large share"


def reasons(c: Consequence, t: Thresholds) -> list[str]:
    """Why this change needs a confirmation (empty: it does not)."""
    out = []
    if c.rules_after == 0:
        out.append("the new version has no enabled rule: every registration would wait for adjudication")
    elif c.rules_in_force and c.rules_after < t.keep_share * c.rules_in_force:
        out.append(f"the new version keeps {c.rules_after} of {c.rules_in_force} enabled rules "
                   f"(fewer than {t.keep_share:.0%})")
    if c.directory and c.moved_share > t.move_share:
        out.append(f"it moves {c.moved} of {c.directory} rule-assigned entities ({c.moved_share:.1%}, more than "
                   f"{t.move_share:.0%}), {c.to_adjudication} of them to adjudication")
    return out


def confirmation_phrase(c: Consequence) -> str:
    """What the office sends back as ``confirm``: the consequence in words and numbers."""
    return (f"publish {c.rules_after} of {c.rules_in_force} rules, moving {c.moved} of {c.directory} entities, "
            f"{c.to_adjudication} to adjudication")
