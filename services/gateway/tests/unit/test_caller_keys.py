"""The gateway's caller signing key: refused when the services would refuse what it signs, or in production
when it is the development key."""

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
