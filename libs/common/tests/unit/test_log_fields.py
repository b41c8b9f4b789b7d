"""Every line logged while an event or request is handled carries its ids: the service's own lines and the
libraries' (Python logging), nested contexts adding to the outer one, a field the line names itself winning."""

from __future__ import annotations

import json
import logging

from jsp_common.logs import configure_logging, get_logger, log_fields


def test_lines_inside_log_fields_carry_them_and_lines_outside_do_not(capsys):
    configure_logging("svc")  # to the captured output: configured here, where the test's capture is in force
    try:
        log = get_logger("test")
        with log_fields(request_id="r-1", trace_id="t-1"):
            log.warning("inside")
            with log_fields(event_id="e-1"):
                logging.getLogger("aiokafka.test").warning("library line")
                log.warning("named", trace_id="t-own")
        log.warning("outside")
        out = capsys.readouterr().out
    finally:
        with capsys.disabled():
            configure_logging("tests")
    inside, library, named, outside = (json.loads(line) for line in out.splitlines())
    assert (inside["request_id"], inside["trace_id"], inside["service"]) == ("r-1", "t-1", "svc")
    assert "event_id" not in inside
    assert (library["request_id"], library["event_id"], library["logger"]) == ("r-1", "e-1", "aiokafka.test")
    assert (named["trace_id"], named["event_id"]) == ("t-own", "e-1")
    assert not {"request_id", "trace_id", "event_id"} & outside.keys()
