"""Commands: ``python -m inspection migrate | serve | verify RECORD | replay-replica``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jsp_common.cli import Command, service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]


def verify_arguments(parser) -> None:
    parser.add_argument("record", help="a draw's published record: its public address "
                                       "(https://.../inspection/public/draws/{id}), or a file of the answer there (or "
                                       "of its 'record'); '-' reads standard input")
    parser.add_argument("--from", dest="draw_url", metavar="URL",
                        help="the draw's public address, where the members of the populations a record file lists are "
                             "fetched (URL/populations/{population}/{credit_class}); RECORD given as the address is")


def verify(settings, args) -> int:
    import httpx

    from .domain import joint

    at_address = args.record.startswith(("http://", "https://"))
    url = args.record if at_address else args.draw_url
    with httpx.Client(timeout=60.0, follow_redirects=True) as http:
        def fetched(address: str) -> bytes:
            r = http.get(address)
            r.raise_for_status()
            return r.content

        try:
            raw = fetched(args.record) if at_address else (
                sys.stdin.read() if args.record == "-" else Path(args.record).read_text(encoding="utf-8"))
            answer = json.loads(raw)
            rec = answer.get("record", answer)
            status = answer.get("status", "performed")  # a record alone: the draw's status is not in it
            if "record" not in answer and "draw_id" in answer:
                why = f" ({answer['reason']})" if answer.get("reason") else ""
                print(f"draw {answer['draw_id']} is {status}{why}: no record to replay (a draw abandoned before it "
                      "was performed has none)")
                return 2
            kept = None
            if "populations" in rec:  # their members are served apart, beside the record
                if url is None:
                    print("the record lists its populations, whose members are served apart: give the draw's public "
                          "address (--from https://.../inspection/public/draws/{id})")
                    return 2
                kept = {(p["population"], p["credit_class"]):
                        fetched(f"{url.rstrip('/')}/populations/{p['population']}/{p['credit_class']}")
                        for p in rec["populations"]}
            problems = joint.verify(rec, kept)
        except httpx.HTTPError as exc:
            print(f"could not fetch the record or its populations: {exc}")
            return 2
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
