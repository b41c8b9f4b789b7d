"""Clues figures: 12345 work orders routed per second and p99 latency from the hotline topic to the
department topics, through the real clues intake (consumer loop, inbox, business match, duplicate check,
keyword routing, working-day deadline, clue and transition rows, outbox relay), beside a bare aiokafka
consume-and-produce loop forwarding the same messages to the same department topics in the same run; each
pipeline in its own process, whose CPU per work order is read from /proc."""

from __future__ import annotations

import uuid
from pathlib import Path


from harness import (BenchEnv, Figure, core_alone, correlate_by_key, measure_pipeline, pipeline_figures, random_uscc,
                     service_process)
from jsp_common import clock, topics
from jsp_common.offsets import move_group_to_end
from jsp_common.envelope import Envelope, new_envelope

HOTLINE, HOTLINE_REPLIES, CLUE_LIFECYCLE = topics.HOTLINE_WORK_ORDERS, topics.HOTLINE_REPLIES, topics.CLUE_LIFECYCLE
SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "clues"

# (content template, address, expected lead department): a mix of domains and cities.
CASES = [
    ("{n}号店铺销售过期食品，食品发霉变质。", "河南省郑州市金水区花园路{n}号", "samr-410100"),
    ("小区{n}栋燃气管道漏气，液化气味道很重。", "河南省洛阳市西工区中州路{n}号", "mohurd-410300"),
    ("商场{n}号电梯经常困人，存在安全隐患。", "河南省开封市龙亭区{n}号", "samr-410200"),
    ("某公司以高息理财为名非法集资，已有{n}人受骗。", "河南省新乡市红旗区{n}号", "finance-410700"),
    ("工业园{n}号化工厂违规储存危险化学品。", "河南省安阳市文峰区{n}号", "mem-410500"),
    ("某药店{n}号柜台销售假药，要求查处。", "河南省南阳市卧龙区{n}号", "samr-411300"),
]
TOPICS = sorted({f"dept.{c[2]}.clues.v1" for c in CASES})



def department_only(dept_topic: str) -> list[str]:
    """Where the bare loop forwards a work order: the department topic the intake routes it to."""
    return [dept_topic]


def intake_events(dept_topic: str) -> list[str]:
    """The topics of the events the intake issues for one work order, in its order: the transitions received and
    dispatched, the department's dispatch, the receipt."""
    return [CLUE_LIFECYCLE, CLUE_LIFECYCLE, dept_topic, HOTLINE_REPLIES]


def make_message(run: str, route=department_only):
    def build(i: int) -> tuple[str, str, bytes]:
        content, address, dept = CASES[i % len(CASES)]
        no = f"B{run}{i:08d}"
        data = {"work_order_no": no, "content": content.format(n=i), "address": address.format(n=i),
                "received_at": clock.now().isoformat(), "uscc": random_uscc(), "caller_phone": "13800000000"}
        env = new_envelope(type="hotline.work-order.submitted.v1", source="/bench/12345", data=data)
        # Where the bare loop and the core alone send it (the intake ignores this).
        return no, no, env.to_bytes(), [("bench-route", ",".join(route(f"dept.{dept}.clues.v1")).encode())]
    return build



def correlate_ours(record) -> str | None:
    env = Envelope.from_bytes(record.value)
    if env.type != "clues.clue.dispatched.v1" or (env.data or {}).get("role") != "lead":
        return None
    return env.data["channel_ref"]


async def _skip_backlog(env: BenchEnv, group: str) -> None:
    """Start the intake group at the end of its topics: earlier messages are not ours to count."""
    from clues.subscriptions import INTAKE_TOPICS

    await move_group_to_end(group, list(INTAKE_TOPICS), bootstrap_servers=env.bootstrap)


BENCH_SERVICE = "clues-bench"  # its own source


async def _measure(env: BenchEnv, run_id: str, correlate, n: int, pid: int, route=department_only):
    await measure_pipeline(env, in_topic=HOTLINE, out_topics=TOPICS, make_message=make_message(run_id + "w", route),
                           correlate=correlate, n_throughput=100, n_latency=1)  # warm-up: connections, caches
    return await measure_pipeline(env, in_topic=HOTLINE, out_topics=TOPICS, make_message=make_message(run_id, route),
                                  correlate=correlate,
                                  n_throughput=n, n_latency=300, latency_rate=100, cpu_pid=pid)


async def run(env: BenchEnv) -> list[Figure]:
    from jsp_common.migrations import upgrade

    from clues.settings import Settings

    n = env.n(5000)
    run_id = uuid.uuid4().hex[:6]
    settings = Settings(database_url=f"{env.postgres_url.rstrip('/')}/clues_bench", log_level="WARNING",
                        service_name=BENCH_SERVICE)
    await upgrade(SERVICE_DIR, settings.database_url)
    await _skip_backlog(env, settings.intake_group)
    async with service_process("bench/service_consumers.py", "clues", settings.database_url, BENCH_SERVICE,
                               settings.intake_group) as proc:
        ours = await _measure(env, run_id, correlate_ours, n, proc.pid)
    async with service_process("bench/bare_loop.py", HOTLINE) as proc:
        base = await _measure(env, run_id + "b", correlate_by_key, n, proc.pid)
    # The floor under the intake: the messaging core alone issuing the intake's four events per work order, and
    # the bare loop producing the same four.
    async with core_alone(env, HOTLINE, "clues_bench_core") as proc:
        core = await _measure(env, run_id + "c", correlate_by_key, n, proc.pid, intake_events)
    # The intake's reads, rows and events without its decisions, through its own statements, on its schema.
    floor_url = f"{env.postgres_url.rstrip('/')}/clues_bench_floor"
    await upgrade(SERVICE_DIR, floor_url)
    async with core_alone(env, HOTLINE, "clues_bench_floor", script="bench/intake_floor.py") as proc:
        rows = await _measure(env, run_id + "i", correlate_by_key, n, proc.pid, intake_events)
    async with service_process("bench/bare_loop.py", HOTLINE) as proc:
        bare4 = await _measure(env, run_id + "f", correlate_by_key, n, proc.pid, intake_events)
    async with service_process("bench/bare_loop_rdkafka.py", HOTLINE) as proc:  # the same on a C client
        rdkafka4 = await _measure(env, run_id + "r", correlate_by_key, n, proc.pid, intake_events)
    await _skip_backlog(env, settings.intake_group)  # the other pipelines' messages are not the intake's
    floor = ("the messaging core alone (consumer loop, inbox, outbox, relay) issuing the intake's four events per "
             "work order: no clue logic, no clue rows")
    io_floor = ("the messaging core issuing the same four events, with the intake's statements for a poll's work "
                "orders (the clues known by their numbers, their businesses in the replica, the duplicate "
                "candidates, the clue rows and two transitions each) and none of its decisions (bench/intake_floor.py)")
    return pipeline_figures("work orders routed", "hotline topic → department topic", ours, base, unit="clues/s",
                            note=f"{n} work orders, 6 domains and cities", paced="100 work orders/s",
                            cpu_per="work order", target_us=250) + [
        Figure("work orders/s, the messaging core alone, four events each", core.throughput, base.throughput,
               "clues/s", note=f"{floor}; baseline: the bare loop above (one message each); the ceiling of the "
                               "intake's ratio on this stack"),
        Figure("CPU per work order, the messaging core alone, four events", core.cpu_us, bare4.cpu_us, "µs",
               higher_is_better=False, note=f"{floor}; baseline: the bare loop producing the same four messages; "
                                            "the floor under the intake's CPU per work order"),
        Figure("work orders/s, the intake's reads, rows and events alone", rows.throughput, base.throughput,
               "clues/s", note=f"{io_floor}; baseline: the bare loop above (one message each); the ceiling of the "
                               "intake's ratio with its statements on this stack"),
        Figure("CPU per work order, the intake's reads, rows and events alone", rows.cpu_us, core.cpu_us, "µs",
               higher_is_better=False, note=f"{io_floor}; baseline: the messaging core alone issuing the four "
                                            "events; the floor under the intake's CPU per work order with its "
                                            "statements"),
        Figure("CPU per work order, a bare librdkafka loop, four messages", rdkafka4.cpu_us, bare4.cpu_us, "µs",
               higher_is_better=False, note="the bare loop's work on confluent-kafka (librdkafka: a C client) "
                                            "instead of aiokafka; baseline: the aiokafka bare loop above"),
    ]
