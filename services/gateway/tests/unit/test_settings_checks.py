"""The gateway's settings it refuses to start with: a caller signing key the services would refuse, the
development key in production, a connection pool that outlives the services' keep-alive."""

import json

import pytest

from gateway.settings import Settings
from jsp_common.caller import new_key


def keys(*public: str) -> str:
    return json.dumps({"keys": [json.loads(p) for p in public]})


def test_the_signing_key_must_be_one_the_services_accept():
    private, public = new_key("2027-01")
    _, other = new_key("2026-06")
    with pytest.raises(ValueError, match="not in JSP_CALLER_KEYS"):
        Settings(caller_signing_key=private, caller_keys=keys(other)).check()
    assert Settings(caller_signing_key=private, caller_keys=keys(public, other)).check()


def test_production_refuses_the_development_signing_key():
    private, public = new_key("2027-01")
    with pytest.raises(ValueError, match="caller_signing_key"):
        Settings(environment="production", jwt_keys=["a-real-jwt-key-of-enough-length-0123456789"]).check()
    Settings(environment="production", jwt_keys=["a-real-jwt-key-of-enough-length-0123456789"],
             caller_signing_key=private, caller_keys=keys(public)).check()
    # The development token key kept behind a real one (every key in the list verifies tokens) is refused too.
    with pytest.raises(ValueError, match=r"jwt_keys\[1\]"):
        Settings(environment="production", jwt_keys=["a-real-jwt-key-of-enough-length-0123456789",
                                                     Settings().jwt_keys[0]],
                 caller_signing_key=private, caller_keys=keys(public)).check()


def test_the_pool_lets_go_of_idle_connections_before_the_services_close_them():
    defaults = Settings().check()
    assert defaults.upstream_keep_alive_s < defaults.http_keep_alive_s
    with pytest.raises(ValueError, match="UPSTREAM_KEEP_ALIVE_S .* must be below"):
        Settings(upstream_keep_alive_s=5, http_keep_alive_s=5).check()
