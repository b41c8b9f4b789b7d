"""Commands: ``python -m inspection migrate | serve | verify RECORD | replay-replica``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsp_common.cli import Command, service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]


def verify_arguments(parser) -> None:
    parser.add_argument("record", type=Path, help="a draw's published record (JSON: GET /public/draws/{id}, its "
                                                  "'record', or the whole answer); '-' reads standard input")


def verify(settings, args) -> int:
    from .domain import joint

    raw = sys.stdin.read() if str(args.record) == "-" else args.record.read_text(encoding="utf-8")
    answer = json.loads(raw)
    rec = answer.get("record", answer)
    status = answer.get("status", "performed")  # a record alone: the draw's status is not in it
    if "record" not in answer and "draw_id" in answer:
        print(f"draw {answer['draw_id']} is {status}" + (f" ({answer['reason']})" if answer.get("reason") else "")
              + ": no record to replay (a draw abandoned before it was performed has none)")
        return 2
    try:
        problems = joint.verify(rec)
    except (KeyError, TypeError, ValueError) as exc:
        print(f"not a verifiable record: {exc}")
        return 2
    if problems:
        print("NOT VERIFIED:\n  " + "\n  ".join(problems))
        return 1
    if "refused" in rec:
        print(f"verified: draw of task {rec['task_id']}, seed hash {rec['seed_hash']}: refused alike on replay "
              f"({rec['refused']})")
        return 0
    print(f"verified: draw of task {rec['task_id']}, seed hash {rec['seed_hash']}, "
          f"{sum(s['size'] for p in rec['plans'] for s in p['strata'])} candidates in "
          f"{sum(len(p['strata']) for p in rec['plans'])} strata, {len(rec['targets'])} targets: identical result"
          + (f" (the draw was {status}: {answer.get('reason')}; its targets were discarded)"
             if status == "abandoned" else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    from jsp_common.replica import replay_command

    from . import subscriptions
    from .adapters.tables import entities
    from .app import create_app
    from .settings import Settings

    return service_main(name="inspection", service_dir=SERVICE_DIR, settings=Settings,
                        create_app=create_app, argv=argv,
                        commands={"replay-replica": replay_command(entities, subscriptions.replica_extras),
                                  "verify": Command("replay a draw from its published record", verify,
                                                    verify_arguments)})


if __name__ == "__main__":
    sys.exit(main())
