"""An input replayed after a database restore issues its alerts under the ids it first had, whatever else the
poll that brings it holds (a replay cuts the polls differently)."""

from __future__ import annotations

from sqlalchemy import delete, select

from jsp_common import clock
from jsp_common.consumer import Delivery, HandlerContext
from jsp_common.envelope import new_envelope
from jsp_common.events.registry import AbnormalOperationListed
from jsp_testkit.samples import new_uscc
from jsp_testkit.testing import of_type, tail, unique
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
                await indicators.apply(deps, [HandlerContext(env, data, session, delivery,
                                                             deps.settings.indicators_group, deps.source)
                                              for env, data, delivery in inputs])
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
