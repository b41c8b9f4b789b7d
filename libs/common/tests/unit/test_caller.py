"""Who is calling, proven: a service accepts only the gateway's assertion for it, signed with a key it holds,
and not expired; everything else is refused with the reason. Keys rotate without a refused call."""

import json
import time

import jwt
import pytest

from jsp_common.caller import (DEV_KEYS, DEV_SIGNING_KEY, CallerRefused, Signer, Verifier, new_key, public_keys)
from jsp_common.principal import Principal, Role
from jsp_testkit.testing import clocks_at

DEPT = Principal(subject="samr-zz", roles=[Role.DEPARTMENT], department="samr-410100", division="410100")


def verifier(*public_jwks: str, audience: str = "registry") -> Verifier:
    return Verifier(keys=public_keys(json.dumps({"keys": [json.loads(k) for k in public_jwks]})), audience=audience)


def refusal(v: Verifier, token: str | None) -> str:
    with pytest.raises(CallerRefused) as err:
        v.verify(token)
    return err.value.reason


def test_the_gateways_assertion_proves_the_principal_to_its_service():
    v = Verifier(keys=public_keys(DEV_KEYS), audience="registry")
    assert v.verify(Signer.from_jwk(DEV_SIGNING_KEY).sign(DEPT, "registry")) == DEPT


def test_missing_and_malformed_assertions_are_refused():
    v = Verifier(keys=public_keys(DEV_KEYS), audience="registry")
    assert refusal(v, None) == "missing"
    assert refusal(v, "") == "missing"
    assert refusal(v, "not-a-jws") == "malformed"
    assert refusal(v, DEPT.model_dump_json()) == "malformed"   # the bare principal header of old


def test_an_assertion_signed_with_another_key_under_an_accepted_kid_is_forged():
    private, _ = new_key(json.loads(DEV_SIGNING_KEY)["kid"])       # same kid, someone else's key
    v = Verifier(keys=public_keys(DEV_KEYS), audience="registry")
    assert refusal(v, Signer.from_jwk(private).sign(DEPT, "registry")) == "forged"


def test_a_tampered_principal_breaks_the_signature():
    token = Signer.from_jwk(DEV_SIGNING_KEY).sign(DEPT, "registry")
    header, claims, signature = token.split(".")
    payload = json.loads(jwt.utils.base64url_decode(claims))
    payload["principal"]["roles"] = ["office"]
    forged = ".".join([header, jwt.utils.base64url_encode(json.dumps(payload).encode()).decode(), signature])
    assert refusal(Verifier(keys=public_keys(DEV_KEYS), audience="registry"), forged) == "forged"


def test_an_hmac_assertion_keyed_with_the_public_key_is_refused():
    """The algorithm confusion attack: HS256 with the (public) key bytes as the secret."""
    public = json.loads(DEV_KEYS)["keys"][0]
    token = jwt.encode({"iss": "jsp-gateway", "aud": "registry", "sub": "x", "iat": int(time.time()),
                        "exp": int(time.time()) + 60, "principal": {"roles": ["office"]}},
                       public["x"], algorithm="HS256", headers={"kid": public["kid"]})
    assert refusal(Verifier(keys=public_keys(DEV_KEYS), audience="registry"), token) == "forged"


def test_an_expired_assertion_is_refused_past_the_leeway():
    signer, v = Signer.from_jwk(DEV_SIGNING_KEY, ttl_s=60), Verifier(keys=public_keys(DEV_KEYS), audience="registry")
    assert v.verify(signer.sign(DEPT, "registry", now=time.time() - 62)) == DEPT   # within 5 s of clock leeway
    assert refusal(v, signer.sign(DEPT, "registry", now=time.time() - 70)) == "expired"


def test_an_assertion_verified_before_is_still_refused_once_it_has_expired(monkeypatch):
    """A service remembers the assertions it verified (the gateway reuses one for many calls), never past their
    expiry; the gateway re-signs once half the validity is gone, so a call never carries one about to expire."""
    signer, v = Signer.from_jwk(DEV_SIGNING_KEY, ttl_s=60), Verifier(keys=public_keys(DEV_KEYS), audience="registry")
    start = time.time()
    clocks_at(monkeypatch, start)
    token = signer.headers(DEPT, "registry")["x-jsp-assertion"]
    assert v.verify(token) == DEPT and v.verify(token) == DEPT
    clocks_at(monkeypatch, start + 29)
    assert signer.headers(DEPT, "registry")["x-jsp-assertion"] == token        # reused within half its life
    assert signer.headers(DEPT, "clues")["x-jsp-assertion"] != token           # one per service (audience)
    clocks_at(monkeypatch, start + 31)
    fresh = signer.headers(DEPT, "registry")["x-jsp-assertion"]
    assert fresh != token and v.verify(fresh) == DEPT
    clocks_at(monkeypatch, start + 66)
    assert refusal(v, token) == "expired"                                      # 60 s and the 5 s leeway
    assert v.verify(fresh) == DEPT


def test_an_assertion_issued_in_the_future_is_refused():
    v = Verifier(keys=public_keys(DEV_KEYS), audience="registry")
    assert refusal(v, Signer.from_jwk(DEV_SIGNING_KEY).sign(DEPT, "registry", now=time.time() + 30)) \
        == "not yet valid"


def test_an_assertion_for_another_service_is_refused():
    v = Verifier(keys=public_keys(DEV_KEYS), audience="registry")
    assert refusal(v, Signer.from_jwk(DEV_SIGNING_KEY).sign(DEPT, "clues")) == "wrong audience"


def test_a_key_the_service_does_not_hold_is_refused():
    private, _ = new_key("2027-01")
    assert refusal(Verifier(keys=public_keys(DEV_KEYS), audience="registry"),
                   Signer.from_jwk(private).sign(DEPT, "registry")) == "unknown key"


def test_rotation_the_services_accept_old_and_new_while_the_gateway_moves_to_the_new_key():
    old_private, old_public = new_key("2026-06")
    new_private, new_public = new_key("2026-12")
    before, during, after = verifier(old_public), verifier(new_public, old_public), verifier(new_public)
    old_token = Signer.from_jwk(old_private).sign(DEPT, "registry")     # a gateway replica not yet rolled
    new_token = Signer.from_jwk(new_private).sign(DEPT, "registry")
    assert before.verify(old_token) == DEPT
    assert during.verify(old_token) == during.verify(new_token) == DEPT
    assert after.verify(new_token) == DEPT
    assert refusal(after, old_token) == "unknown key"


def test_a_service_keeps_no_private_part_and_the_gateway_needs_one():
    private, _ = new_key("k")
    assert all(not hasattr(k.key, "sign") for k in public_keys(json.dumps({"keys": [json.loads(private)]})).values())
    with pytest.raises(ValueError, match="private"):
        Signer.from_jwk(json.dumps({k: v for k, v in json.loads(private).items() if k != "d"}))


def test_production_refuses_the_development_keys():
    from jsp_common.settings import ServiceSettings

    with pytest.raises(ValueError, match="JSP_CALLER_KEYS"):
        Verifier.from_settings(ServiceSettings(service_name="registry", environment="production"))
    _, public = new_key("2026-12")
    real = ServiceSettings(service_name="registry", environment="production",
                           caller_keys=json.dumps({"keys": [json.loads(public)]}))
    assert Verifier.from_settings(real).audience == "registry"


def test_the_public_key_the_key_command_prints_is_accepted_alone_as_the_services_keys():
    """`new-key` prints one public JWK; pasted into JSP_CALLER_KEYS as it is, every service failed to start with
    KeyError: 'keys'. A single JWK is a set of one; a set and a list of JWKs still work."""
    private, public = new_key("2027-01")
    token = Signer.from_jwk(private).sign(DEPT, "registry")
    for keys in (public, json.dumps({"keys": [json.loads(public)]}), json.dumps([json.loads(public)])):
        assert Verifier(keys=public_keys(keys), audience="registry").verify(token) == DEPT


@pytest.mark.parametrize("keys", ['{"kid": "2027-01"}', '{"jwks": []}', '"2027-01"', '[{"kty": "OKP"}]', "{"])
def test_caller_keys_of_another_shape_are_refused_at_start_saying_the_shape_expected(keys):
    with pytest.raises(ValueError) as err:
        public_keys(keys)
    assert "JSP_CALLER_KEYS" in str(err.value), err.value
