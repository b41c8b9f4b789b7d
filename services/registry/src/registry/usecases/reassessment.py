"""Re-assessment after a rule set is published with ``reassess``: rule-assigned entities are decided again
under the new version, a batch per transaction."""

from __future__ import annotations

from dataclasses import replace

from jsp_common import clock
from jsp_common.outbox import SessionTx

from ..adapters import entities as records
from ..adapters import rules as rule_sets
from ..adapters.writes import Writes
from ..deps import Deps
from ..domain import directory
from .responsibility import settle_into


async def reassess_pending(deps: Deps) -> int:
    """Periodic: after a rule set published with ``reassess``, re-decide rule-assigned entities, a batch per
    transaction in USCC order (each batch continues where the last ended, so a pass over the directory reads
    it once). Returns how many entities the batch examined (1 at the end of a pass, to go on with one more
    from the start); 0 when a pass from the start finds none left."""
    async with deps.db.transaction() as session:
        pending = await rule_sets.pending_reassessment(session)
        if pending is None:
            return 0
        rules = await deps.rules.get(session)
        if rules.version < pending:
            deps.rules.invalidate()
            rules = await deps.rules.get(session)
        after = deps.reassess.after
        batch = await records.to_reassess(session, after=after, older_than=rules.version,
                                          limit=deps.settings.reassess_batch)
        if not batch:
            deps.reassess.after = ""
            if after:  # end of a pass: one more from the start for rows that were locked or written meanwhile
                return 1
            await rule_sets.reassessment_done(session, up_to=rules.version)
            return 0
        tx, now, w, unchanged = SessionTx(session, deps.source), clock.now(), Writes(), []
        for before, last_event_id in batch:
            resp = directory.assign(before, before, rules.evaluate(before.facts()), rules.version)
            if all(set(getattr(resp.record, f)) == set(getattr(before, f))
                   for f in ("departments", "domains", "matched_rules")) and \
                    resp.record.assignment_state == before.assignment_state:  # a new domain is a change too
                unchanged.append(before.uscc)
                continue
            resp = replace(resp, record=replace(resp.record, version=before.version + 1))
            # Ids from the entity's state and the rule version: a re-assessment run again after a database
            # restore issues the notifications and events it issued before.
            await settle_into(deps, tx.caused_by("registry.reassessment", before.uscc, before.version, rules.version),
                              w, before, resp, cause="rules", event_id=last_event_id, now=now)
        await records.stamp_rule_version(session, unchanged, rules.version)
        await w.flush(session)
        deps.reassess.after = batch[-1][0].uscc
        return len(batch)
