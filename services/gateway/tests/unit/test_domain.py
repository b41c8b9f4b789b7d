"""The gateway's pure rules: tokens, client definitions, rate limits, composition, policy, ingest ids."""

from __future__ import annotations

import time

import jwt
import pytest

from jsp_common.principal import Role
from jsp_testkit.testing import clocks_at

from gateway.domain import composition
from gateway.domain.identity import (ClientSpec, InvalidClient, InvalidToken, Kind, TokenClaims, TokenIssuer,
                                     api_key_id, new_api_key)
from gateway.domain.ingest import event_id_for
from gateway.domain.policy import RULES, department_query_allowed
from gateway.domain.ratelimit import Leases, RateLimiter
from gateway.domain.sessions import SessionRules
from gateway.domain.streams import PublicStreams

CLAIMS = TokenClaims(sub="jspc_1", kind=Kind.SYSTEM, roles=[Role.DEPARTMENT], department="samr-410100",
                     division="410100", cid="sec_1")


def issuer(*keys: str, ttl: int = 60) -> TokenIssuer:
    return TokenIssuer(keys=keys, issuer="jsp-gateway", audience="jsp", ttl_s=ttl)


def test_a_token_round_trips_its_identity_and_survives_key_rotation():
    token, _ = issuer("old-key-0123456789abcdef0123456789").issue(CLAIMS)
    rotated = issuer("new-key-0123456789abcdef0123456789", "old-key-0123456789abcdef0123456789")
    assert rotated.verify(token).principal().department == "samr-410100"
    with pytest.raises(InvalidToken, match="no longer accepted"):
        issuer("new-key-0123456789abcdef0123456789").verify(token)


def test_a_token_verified_before_is_refused_once_it_has_expired(monkeypatch):
    """The gateway remembers the tokens it verified (a client sends the same one with every call), not past
    their expiry."""
    key, start = "key-0123456789abcdef0123456789abcd", time.time()
    clocks_at(monkeypatch, start)
    tokens = issuer(key, ttl=60)
    token, _ = tokens.issue(CLAIMS)
    assert tokens.verify(token).sub == tokens.verify(token).sub == CLAIMS.sub
    clocks_at(monkeypatch, start + 61)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_expired_forged_and_foreign_tokens_are_refused():
    key = "key-0123456789abcdef0123456789abcd"
    expired, _ = issuer(key, ttl=60).issue(CLAIMS, now=1_000_000)
    with pytest.raises(InvalidToken, match="expired"):
        issuer(key).verify(expired)
    good, _ = issuer(key).issue(CLAIMS)
    payload = jwt.decode(good, key, algorithms=["HS256"], audience="jsp")
    forged = jwt.encode({**payload, "roles": ["office"]}, "another-key-0123456789abcdef0123",
                        headers=jwt.get_unverified_header(good))
    with pytest.raises(InvalidToken):
        issuer(key).verify(forged)
    foreign = jwt.encode({**payload, "aud": "elsewhere"}, key, headers=jwt.get_unverified_header(good))
    with pytest.raises(InvalidToken):
        issuer(key).verify(foreign)


@pytest.mark.parametrize("spec, reason", [
    (ClientSpec("x", Kind.SYSTEM, ()), "at least one role"),
    (ClientSpec("x", Kind.SYSTEM, (Role.DEPARTMENT,)), "needs a department"),
    (ClientSpec("x", Kind.SYSTEM, (Role.DEPARTMENT,), department="samr-410102"), "county"),
    (ClientSpec("x", Kind.PERSON, (Role.OFFICE,)), "user name"),
])
def test_client_definitions_are_checked(spec, reason):
    with pytest.raises(InvalidClient, match=reason):
        spec.checked()


def test_api_keys_carry_a_public_id():
    key_id, key = new_api_key()
    assert api_key_id(key) == key_id
    assert api_key_id("jspk_short.x") is None and api_key_id(key.replace(".", "")) is None


def test_rate_limit_is_per_caller_and_refills():
    limiter = RateLimiter(per_minute=60, burst=2)
    assert [limiter.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]
    assert limiter.take("b", 0.0) == 0.0
    assert limiter.take("a", 1.0) == 0.0


def test_the_public_s_streams_are_capped_per_address_and_in_all():
    streams = PublicStreams(per_address=2, total=3)
    assert streams.take("a") and streams.take("a") and not streams.take("a")
    assert streams.take("b") and not streams.take("c")      # the replica's share is full: a new address waits too
    streams.give_back("a")
    assert streams.take("c") and not streams.take("a")
    for address in ("a", "b", "c"):
        streams.give_back(address)
    assert streams.take("a") and streams.take("a")


def test_a_replica_leases_tokens_only_from_a_bucket_holding_many_and_never_past_a_second():
    leases = Leases(most=50, for_s=1.0)
    assert leases.wanted("a") == 1 and not leases.take("a", 0.0)     # nothing known: one token per request
    leases.taken("a", 1, level=3.0, now=0.0)                          # a small bucket: still one at a time
    assert leases.wanted("a") == 1 and not leases.take("a", 0.1)
    leases.taken("a", 1, level=99.0, now=0.2)                         # plenty: an eighth of it
    assert leases.wanted("a") == 12
    leases.taken("a", 12, level=87.0, now=0.3)                        # this request's token and 11 to hand out
    assert [leases.take("a", 0.4) for _ in range(12)] == [True] * 11 + [False]
    leases.taken("a", 10, level=900.0, now=0.5)
    assert leases.wanted("a") == 50                                   # never more than the most
    assert not leases.take("a", 1.6) and not leases.take("b", 0.5)    # expired; another caller's are its own
    leases.taken("a", 0, level=0.4, now=2.0)                          # refused: nothing held, back to one
    assert not leases.take("a", 2.0) and leases.wanted("a") == 1


def test_entity_360_names_missing_parts_and_keeps_only_the_entity_s_items():
    record = composition.Part("registry", 200, {"uscc": "U"})
    clues = composition.only_about("U", composition.Part("clues", 200, [{"uscc": "U"}, {"uscc": "V"}]))
    assert composition.compose("U", record, [clues]) == {"uscc": "U", "registry": {"uscc": "U"},
                                                         "clues": [{"uscc": "U"}], "missing": [], "complete": True}
    down = composition.compose("U", composition.Part("registry", 0, reason="the registry service is unavailable"),
                               [clues])
    assert down["missing"] == [{"part": "registry", "reason": "the registry service is unavailable"}]
    assert down["clues"] == [{"uscc": "U"}] and not down["complete"]
    with pytest.raises(composition.EntityNotFound):
        composition.compose("U", composition.Part("registry", 404), [clues])


def test_entity_360_gives_a_part_its_stated_answer_when_the_service_knows_nothing_of_the_entity():
    spec = composition.PartSpec("credit", "risk", "/entities/{uscc}/credit-class", {"of": "{uscc}"},
                                when_absent={"credit_class": "B", "rated": False}).about("U")
    assert (spec.path, spec.params, spec.when_absent) == ("/entities/U/credit-class", {"of": "U"},
                                                          {"uscc": "U", "credit_class": "B", "rated": False})
    record = composition.Part("registry", 200, {"uscc": "U"})
    unknown = composition.absent_as(composition.Part("credit", 404, reason="nothing is known"), spec.when_absent)
    assert composition.compose("U", record, [unknown])["credit"] == spec.when_absent
    down = composition.absent_as(composition.Part("credit", 0, reason="the risk service is unavailable"), spec.when_absent)
    answer = composition.compose("U", record, [down])
    assert answer["credit"] is None and answer["missing"] == [{"part": "credit", "reason": "the risk service is unavailable"}]


def test_a_department_may_filter_only_by_its_own_department():
    rule = next(r for r in RULES if r.department_param)
    assert department_query_allowed(rule, [Role.DEPARTMENT], "samr-410100", "samr-410100")
    assert not department_query_allowed(rule, [Role.DEPARTMENT], "samr-410100", "samr-410200")
    assert department_query_allowed(rule, [Role.OFFICE], None, "samr-410200")


def test_every_published_service_route_names_its_roles_and_no_route_is_listed_twice():
    keys = [(r.method, r.gateway_path) for r in RULES]
    assert len(keys) == len(set(keys))
    # A route without roles is public (no token); only a service's /public/ routes may be.
    assert all(bool(r.roles) != r.path.startswith("/public/") for r in RULES)


def test_event_ids_follow_the_idempotency_key():
    assert event_id_for("c", "k1", None) == event_id_for("c", "k1", None) != event_id_for("c", "k2", None)
    assert event_id_for("c", "k1", None) != event_id_for("other", "k1", None)
    assert event_id_for("c", "k1", "sender-id") == "sender-id"


def test_a_reload_read_before_a_local_revocation_committed_does_not_undo_it():
    from gateway.domain.revocations import Revocations

    now = [100.0]
    r = Revocations(monotonic=lambda: now[0])
    r.revoke_credential("cred-1")
    r.set_client_blocked("client-x", True)
    r.set_client_blocked("client-y", True)
    r.set_client_blocked("client-y", False)  # disabled, then enabled again here
    r.reload(set(), {"client-y"}, read_started=99.0)  # a periodic read that began before those changes
    assert r.blocks("client-a", "cred-1") and r.blocks("client-x", "cred-9") and not r.blocks("client-y", "cred-9")
    # a read begun after them: the database has the last word, also for a client enabled here and disabled on
    # another replica since (it was let through here for a minute)
    now[0] += 1
    r.reload({"cred-1"}, {"client-x", "client-y"}, read_started=now[0])
    assert r.blocks("client-y", "cred-9") and r.blocks("client-a", "cred-1")
    now[0] += Revocations.KEEP_LOCAL_S + 1
    r.reload({"cred-2"}, set(), read_started=now[0])  # long after
    assert not r.blocks("client-a", "cred-1") and r.blocks("client-a", "cred-2") and not r.blocks("client-x", "cred-9")


def test_a_session_s_token_is_renewed_past_half_its_life_and_never_beyond_the_session_s_end():
    """A person's page token lives 15 minutes: a page in use gets a fresh one of the same session once it is past
    half its life, up to 12 hours after signing in; a live page's stream lasts to the session's end."""
    rules, signed_in = SessionRules(token_ttl_s=900, max_s=12 * 3600), 1_000_000
    ends = signed_in + 12 * 3600
    session = CLAIMS.model_copy(update={"sid": "s1", "auth_time": signed_in})
    first = session.model_copy(update={"exp": signed_in + 900})
    assert rules.renewal(first, signed_in + 449) is None        # more than half its life left
    assert rules.renewal(first, signed_in + 450) == ends        # half: a fresh one, living to the session's end at most
    assert rules.renewal(session.model_copy(update={"exp": ends - 100}), ends - 500) == ends
    assert rules.renewal(session.model_copy(update={"exp": ends}), ends - 200) is None    # it lasts to the end
    assert rules.renewal(session.model_copy(update={"exp": ends + 1}), ends) is None      # the session is over
    system = CLAIMS.model_copy(update={"exp": signed_in + 900})
    assert rules.renewal(system, signed_in + 800) is None       # a system's token: no session
    assert rules.lasts(first, ends - 1) and not rules.lasts(first, ends)
    assert rules.lasts(system, signed_in + 899) and not rules.lasts(system, signed_in + 900)


def test_a_session_s_end_caps_the_tokens_issued_for_it():
    tokens = issuer("key-0123456789abcdef0123456789abcd", ttl=900)
    session = CLAIMS.model_copy(update={"sid": "s1", "auth_time": 1000})
    token, lives = tokens.issue(session, now=time.time(), not_after=int(time.time()) + 100)
    assert lives == 100 and tokens.verify(token).sid == "s1" and tokens.verify(token).auth_time == 1000
