"""The published contracts of the inspection events send their readers to routes the service has."""

from __future__ import annotations

import json
import re

from jsp_common import contracts_export

from inspection.api import draws, inspectors, matters, plans, public, requests, results

ROUTERS = (matters.router, inspectors.router, plans.router, draws.router, results.router, requests.router,
           public.router)


def test_every_route_an_inspection_event_names_exists():
    """DrawPerformed sent verifiers to GET /inspection/draws/{draw_id}/record, which no router serves."""
    routes = {("GET" if "GET" in r.methods else "", "/inspection" + r.path) for router in ROUTERS
              for r in router.routes}
    named = {(m, path.rstrip(".,;:")) for t in contracts_export.published_types() if t.startswith("inspection.")
             for m, path in re.findall(r"\b(GET) (/inspection/[^\s`'\")]+)", json.dumps(contracts_export.schema_of(t)))}
    assert ("GET", "/inspection/public/draws/{draw_id}") in named      # the full record of a draw, for verifiers
    assert named <= routes, named - routes
