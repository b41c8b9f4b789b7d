"""Who is calling, proven: the gateway's signed assertion of the principal, checked by every service itself.

The gateway authenticates the person or system at the front door and forwards, on every call to a service,
``X-JSP-Assertion``: a compact JWS (EdDSA, Ed25519) of the principal, valid for one service (``aud``) for a
short time (``exp``, 60 s by default), naming the key that signed it (``kid``). A service checks the signature
against the public keys it is given (``JSP_CALLER_KEYS``, a JWK set or one JWK), the audience (its own name),
the issuer, the expiry and the issued-at time (not in the future); anything else is refused with 401 and recorded
(:func:`refused`): a structured ``caller refused`` warning and ``jsp_http_callers_refused_total{reason}``.

Only the gateway holds the private key (``JSP_GATEWAY_CALLER_SIGNING_KEY``): a service can verify but not
mint assertions, and an assertion taken from one service's traffic is refused by every other (audience).

Key rotation without downtime: services accept every key of their set, the gateway signs with one.
``python -m jsp_common.caller new-key --kid <kid>`` prints a new key pair; see the README's runbook.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from prometheus_client import Counter
from pydantic import ValidationError

from .logs import get_logger
from .principal import Principal
from .remembered import Remembered
from .settings import DEV_SECRET_MARKER

HEADER = "x-jsp-assertion"
ALGORITHM = "EdDSA"
ISSUER = "jsp-gateway"

# Development only: a key pair whose kid carries the placeholder marker, so production refuses it.
DEV_KID = f"{DEV_SECRET_MARKER}-dev-1"
DEV_SIGNING_KEY = json.dumps({"kty": "OKP", "crv": "Ed25519", "kid": DEV_KID,
                              "x": "q5HM9gEYlwc2Fao_WHqPD_Ry8CWDkOYes-vgKBdX6Zs",
                              "d": "xHzPoxASeTpk7Uk-MzeQfQx7KUxX1z7UYhoeq-6KJL8"})
DEV_KEYS = json.dumps({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": DEV_KID,
                                 "x": "q5HM9gEYlwc2Fao_WHqPD_Ry8CWDkOYes-vgKBdX6Zs"}]})

log = get_logger(__name__)
REFUSED = Counter("jsp_http_callers_refused_total",
                  "Calls to a service refused because the caller's assertion was missing or not good", ["reason"])


class CallerRefused(Exception):
    """``reason``: one of missing, malformed, unknown key, forged, expired, not yet valid, wrong audience,
    wrong issuer, bad principal."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def _jwk(data: dict[str, Any], *, private: bool) -> jwt.PyJWK:
    if data.get("kty") != "OKP" or data.get("crv") != "Ed25519" or not data.get("kid"):
        raise ValueError("a caller key is an Ed25519 JWK (kty OKP, crv Ed25519) with a kid")
    if private and not data.get("d"):
        raise ValueError("the gateway's signing key must be a private JWK (with 'd')")
    return jwt.PyJWK(data, algorithm=ALGORITHM)


KEYS_SHAPE = ('JSP_CALLER_KEYS is a JWK set ({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": ..., "x": ...}]}), '
              'a list of such JWKs, or one (the public key `python -m jsp_common.caller new-key` prints)')


def public_keys(jwks: str) -> dict[str, jwt.PyJWK]:
    """The keys a service accepts, by kid, from a JWK set (``{"keys": [...]}``), a list of JWKs or one JWK (as
    ``new-key`` prints it); anything else is refused, naming the shape expected (the service does not start)."""
    try:
        data = json.loads(jwks)
    except ValueError:
        raise ValueError(f"JSP_CALLER_KEYS is not JSON; {KEYS_SHAPE}") from None
    if isinstance(data, dict) and "keys" not in data and "kty" in data:
        data = [data]  # one key: a set of one
    keys = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(keys, list) or not all(isinstance(item, dict) for item in keys):
        raise ValueError(KEYS_SHAPE)
    out = {}
    for item in keys:
        public = {k: v for k, v in item.items() if k != "d"}  # a service never needs the private part
        try:
            out[item["kid"]] = _jwk(public, private=False)
        except (KeyError, ValueError, jwt.InvalidKeyError, jwt.PyJWKError) as exc:
            raise ValueError(f"a key of JSP_CALLER_KEYS is not usable ({exc or type(exc).__name__}); "
                             f"{KEYS_SHAPE}") from None
    if not out:
        raise ValueError("JSP_CALLER_KEYS names no key: every call would be refused")
    return out


@dataclass(frozen=True)
class Signer:
    """The gateway's side: one private key (the current one). An assertion is signed once per principal and
    service and reused for the first half of its life (``headers``), so a busy caller costs one signature every
    ``ttl_s / 2`` seconds, not one per call, and every call still carries at least ``ttl_s / 2`` of validity."""
    key: jwt.PyJWK
    kid: str
    ttl_s: int = 60
    issuer: str = ISSUER
    _signed: Remembered = field(default_factory=Remembered, repr=False, compare=False)

    @classmethod
    def from_jwk(cls, jwk_json: str, *, ttl_s: int = 60) -> "Signer":
        data = json.loads(jwk_json)
        return cls(key=_jwk(data, private=True), kid=data["kid"], ttl_s=ttl_s)

    def sign(self, principal: Principal, audience: str, *, now: float | None = None) -> str:
        at = int(time.time() if now is None else now)
        claims = {"iss": self.issuer, "aud": audience, "sub": principal.subject, "iat": at, "exp": at + self.ttl_s,
                  "principal": principal.model_dump(mode="json", exclude={"subject"})}
        return jwt.encode(claims, self.key.key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def headers(self, principal: Principal, audience: str) -> dict[str, str]:
        key = (repr(audience), principal.model_dump_json())  # audience: a name, or a list of names (tests)
        signed = self._signed.get(key)
        if signed is None:
            now = time.time()
            signed = self.sign(principal, audience, now=now)
            self._signed.put(key, signed, until=now + self.ttl_s / 2)
        return {HEADER: signed}


@dataclass(frozen=True)
class Verifier:
    """A service's side: the accepted public keys, its own name as the audience, a small clock leeway. An
    assertion verified once is remembered until it expires (the gateway reuses one for many calls): the same
    text was checked against the same keys, so only its expiry is looked at again."""
    keys: dict[str, jwt.PyJWK]
    audience: str
    leeway_s: float = 5.0
    issuer: str = ISSUER
    _verified: Remembered = field(default_factory=Remembered, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings) -> "Verifier":
        keys = public_keys(settings.caller_keys)
        if settings.environment == "production" and any(DEV_SECRET_MARKER in kid for kid in keys):
            raise ValueError("set real caller keys (JSP_CALLER_KEYS) in production, not the development key")
        return cls(keys=keys, audience=settings.service_name, leeway_s=settings.caller_leeway_s)

    def verify(self, token: str | None) -> Principal:
        known = self._verified.get(token) if token else None
        if known is not None:
            return known.model_copy()
        principal, expires = self._verify(token)
        self._verified.put(token, principal.model_copy(), until=expires + self.leeway_s)
        return principal

    def _verify(self, token: str | None) -> tuple[Principal, float]:
        if not token:
            raise CallerRefused("missing", f"no {HEADER} header: services are reached through the gateway")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise CallerRefused("malformed", f"the {HEADER} header is not a signed assertion") from None
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise CallerRefused("unknown key", f"the assertion is signed with a key this service does not accept "
                                               f"(kid {str(kid)[:40]!r})")
        try:
            claims = jwt.decode(token, key.key, algorithms=[ALGORITHM], audience=self.audience, issuer=self.issuer,
                                leeway=self.leeway_s, options={"require": ["exp", "iat", "aud", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            raise CallerRefused("expired", "the caller's assertion has expired") from None
        except jwt.ImmatureSignatureError:
            raise CallerRefused("not yet valid", "the caller's assertion was issued in the future") from None
        except jwt.InvalidAudienceError:
            raise CallerRefused("wrong audience", f"the caller's assertion is not for {self.audience}") from None
        except jwt.InvalidIssuerError:
            raise CallerRefused("wrong issuer", "the caller's assertion was not issued by the gateway") from None
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
            raise CallerRefused("forged", "the caller's assertion does not carry a valid signature") from None
        except jwt.InvalidTokenError as exc:
            raise CallerRefused("malformed", f"the caller's assertion is not acceptable ({exc})") from None
        try:
            return (Principal.model_validate({**(claims.get("principal") or {}), "subject": claims["sub"]}),
                    float(claims["exp"]))
        except ValidationError:
            raise CallerRefused("bad principal", "the caller's assertion names no valid principal") from None


def refused(exc: CallerRefused, *, method: str, path: str, client: str | None, token: str | None) -> None:
    """The audit record of a refused call: one structured warning line and the counter, never the token."""
    subject = None
    if token:
        try:
            subject = str(jwt.decode(token, options={"verify_signature": False}).get("sub"))[:200]
        except jwt.InvalidTokenError:
            pass
    REFUSED.labels(exc.reason).inc()
    log.warning("caller refused", reason=exc.reason, method=method, path=path[:1000], client_ip=client,
                claimed_subject=subject)


def new_key(kid: str) -> tuple[str, str]:
    """A new Ed25519 key pair as (private JWK for the gateway, public JWK for JSP_CALLER_KEYS)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from jwt.algorithms import OKPAlgorithm

    key = Ed25519PrivateKey.generate()
    private = {**json.loads(OKPAlgorithm.to_jwk(key)), "kid": kid}
    public = {k: v for k, v in private.items() if k != "d"}
    return json.dumps(private), json.dumps(public)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jsp_common.caller")
    sub = parser.add_subparsers(dest="cmd", required=True)
    new = sub.add_parser("new-key", help="print a new Ed25519 key pair (private JWK, then public JWK)")
    new.add_argument("--kid", required=True, help="the key's id, e.g. the month it is introduced: 2027-01")
    args = parser.parse_args(argv)
    private, public = new_key(args.kid)
    print(f"JSP_GATEWAY_CALLER_SIGNING_KEY (secret, the gateway only):\n{private}\n"
          f"public key (JSP_CALLER_KEYS of every service: as it is, or added to their set during a "
          f"rotation):\n{public}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
