"""Polls of the indicators group: an input replayed after a database restore issues its alerts under the ids it
first had, whatever else the poll that brings it holds (a replay cuts the polls differently); two polls at once
take their entities' standings in USCC order, the observed and the re-scored alike, so they never wait for each
other crosswise (a deadlock PostgreSQL breaks by failing one poll)."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, select

from jsp_common import clock
from jsp_common.consumer import Delivery, HandlerContext
from jsp_common.envelope import new_envelope
from jsp_common.events.registry import AbnormalOperationListed, AbnormalOperationRemoved
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import of_type, tail, unique, until_waiting_or_done
from risk.adapters.tables import alert_history, alerts, class_history, observations, standings
from risk.usecases import indicators

ALERTS = "risk.alerts.v1"
LISTINGS = "market.abnormal-operations.v1"


def listing(uscc: str, offset: int) -> tuple:
    """An abnormal-operation listing as the indicators group receives it (envelope, data, delivery)."""
    data = AbnormalOperationListed(listing_id=unique("AB"), uscc=uscc, cause="not_at_registered_address",
                                   listed_on=clock.today(), authority="郑州市金水区市场监督管理局",
                                   occurred_at=clock.now())
    env = new_envelope(type=data.event_type, source="/test", data=data.model_dump(mode="json"), subject=uscc)
    return env, data, Delivery(LISTINGS, 0, offset, uscc.encode(), env.to_bytes(), ())


async def test_an_input_issues_the_same_alert_ids_in_whichever_poll_it_arrives(service, bootstrap):
    deps = service.deps
    mine, other = new_uscc(), new_uscc()
    mine_listed, other_listed = listing(mine, 1), listing(other, 0)

    async def poll(*inputs: tuple) -> tuple[str, str]:
        """One poll of the indicators group: the id of the alert raised for ``mine``, and of its event."""
        async with tail(bootstrap, ALERTS) as t:
            async with deps.db.transaction() as session:
                await apply_poll(deps, session, *inputs)
            [raised] = await t.wait_for(of_type("risk.alert.raised.v1", uscc=mine))
        return raised.envelope.data["alert_id"], raised.envelope.id

    first = await poll(other_listed, mine_listed)  # after another entity's input, in one poll

    # The database restored to before the poll (nothing of the entity's yet), and the input read again alone.
    async with deps.db.transaction() as session:
        ids = select(alerts.c.id).where(alerts.c.uscc == mine).scalar_subquery()
        await session.execute(delete(alert_history).where(alert_history.c.alert_id.in_(ids)))
        for table in (alerts, class_history, observations, standings):
            await session.execute(delete(table).where(table.c.uscc == mine))
    assert await poll(mine_listed) == first  # the same alert, the same event: consumers' inboxes skip it


def removal(listed: tuple, offset: int) -> tuple:
    env_, data_, _ = listed
    data = AbnormalOperationRemoved(listing_id=data_.listing_id, uscc=data_.uscc, removed_on=clock.today(),
                                    occurred_at=clock.now())
    env = new_envelope(type="market.abnormal-operation.removed.v1", source="/test",
                       data=data.model_dump(mode="json"), subject=data.uscc)
    return env, data, Delivery(LISTINGS, 0, offset, data.uscc.encode(), env.to_bytes(), ())


async def apply_poll(deps, session, *inputs: tuple) -> None:
    """The indicators group's handler applied to one poll of ``inputs`` in ``session``."""
    await indicators.apply(deps, [HandlerContext(env, data, session, delivery, deps.settings.indicators_group,
                                                 deps.source) for env, data, delivery in inputs])


async def test_a_round_that_removes_a_listing_takes_its_entities_in_uscc_order(service):
    deps = service.deps
    first, last = sorted([new_uscc(), new_uscc()])
    first_listed = listing(first, 0)
    async with deps.db.transaction() as session:          # both entities have a standing; the first a listing
        await apply_poll(deps, session, first_listed, listing(last, 1))

    async with deps.db.transaction() as held:              # another poll holds the first entity's standing
        await held.execute(select(standings).where(standings.c.uscc == first).with_for_update())

        async def round_() -> None:                        # the last entity listed again, the first's removed
            async with deps.db.transaction() as session:
                await apply_poll(deps, session, listing(last, 2), removal(first_listed, 3))
        sent = asyncio.ensure_future(round_())
        await until_waiting_or_done(deps.db, sent, what="the round")
        assert not sent.done()
        async with deps.db.transaction() as other:         # the round waits for the first without holding the last
            locked = await other.execute(select(standings.c.uscc).where(standings.c.uscc == last)
                                         .with_for_update(nowait=True))
            assert locked.scalars().all() == [last]
    await sent
    assert (await service.standing(first))["score"] < (await service.standing(last))["score"]
