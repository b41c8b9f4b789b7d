"""Clients, credentials and tokens.

A *client* is a system (a line system: the bureau, the 12345 hotline, a department's system) or a
person (an officer of the task-force office or of a department). Systems hold client secrets (OAuth2
client credentials) and API keys; people hold a password. Every credential is stored hashed; a
client trades one for a short-lived signed token (JWT) carrying its department, division and roles.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

import jwt
from pydantic import BaseModel, Field

from jsp_common import departments
from jsp_common.principal import Principal, Role
from jsp_common.remembered import Remembered

API_KEY_PREFIX = "jspk"
CLIENT_ID_PREFIX = "jspc"


class Kind(StrEnum):
    SYSTEM = "system"
    PERSON = "person"


class CredentialKind(StrEnum):
    SECRET = "secret"      # OAuth2 client secret of a system
    API_KEY = "api_key"    # API key of a system, usable directly in the X-API-Key header
    PASSWORD = "password"  # a person's password


class InvalidClient(ValueError):
    """A client definition that breaks the rules (e.g. a department role without a department)."""


class InvalidToken(ValueError):
    pass


@dataclass(frozen=True)
class ClientSpec:
    """What a new client is: checked before it is stored."""

    name: str
    kind: Kind
    roles: tuple[Role, ...]
    department: str | None = None
    username: str | None = None

    def checked(self) -> "ClientSpec":
        if not self.roles:
            raise InvalidClient("a client needs at least one role")
        if Role.DEPARTMENT in self.roles and not self.department:
            raise InvalidClient("a client with the department role needs a department (e.g. 'samr-410100')")
        if self.department:
            try:
                departments.department(self.department)
            except departments.UnknownDepartment as exc:
                raise InvalidClient(str(exc)) from None
        if self.kind is Kind.PERSON and not self.username:
            raise InvalidClient("a person needs a user name to log in with")
        if self.kind is Kind.SYSTEM and self.username:
            raise InvalidClient("a system authenticates with its client id, not a user name")
        return self

    @property
    def division(self) -> str | None:
        return departments.department(self.department).division_code if self.department else None


def new_client_id() -> str:
    return f"{CLIENT_ID_PREFIX}_{uuid.uuid4().hex[:20]}"


def new_secret() -> str:
    """A random secret (client secret, API key body, generated password): 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """``(key_id, full key)``; the key id is public (shown in listings), the rest is secret."""
    key_id = secrets.token_hex(8)
    return key_id, f"{API_KEY_PREFIX}_{key_id}.{new_secret()}"


def api_key_id(key: str) -> str | None:
    """The key id of a well-formed API key, else None."""
    head, dot, body = key.partition(".")
    prefix, _, key_id = head.partition("_")
    if not dot or prefix != API_KEY_PREFIX or len(key_id) != 16 or not body:
        return None
    return key_id


class TokenClaims(BaseModel):
    sub: str
    kind: Kind
    roles: list[Role]
    department: str | None = None
    division: str | None = None
    cid: str = Field(description="the credential the token was issued for (revoking it ends the token)")
    name: str | None = None
    sid: str | None = Field(None, description="a person's sign-in session, which its tokens share (signing out ends "
                                              "every one of them)")
    auth_time: int | None = Field(None, description="when the session began (seconds since the epoch)")
    exp: int | None = Field(None, description="when the token expires (set when it is issued)")

    def principal(self) -> Principal:
        return Principal(subject=self.sub, kind=self.kind.value, roles=self.roles, department=self.department,
                         division=self.division, name=self.name)


@dataclass(frozen=True)
class TokenIssuer:
    """Signs and verifies tokens. ``keys[0]`` signs; every key verifies (rotation without a cut-off). A token
    verified once is remembered until it expires (a client sends the same token with every call): only its expiry
    is checked again. Revocation is not part of this (``usecases.auth.principal_of`` checks it on every call)."""

    keys: tuple[str, ...]
    issuer: str
    audience: str
    ttl_s: int
    _verified: Remembered = field(default_factory=Remembered, repr=False, compare=False)

    def issue(self, claims: TokenClaims, *, now: float | None = None, not_after: int | None = None
              ) -> tuple[str, int]:
        """A signed token and the seconds it lives: ``ttl_s``, or less where ``not_after`` (a session's end) comes
        first."""
        now = int(now if now is not None else time.time())
        exp = now + self.ttl_s if not_after is None else min(now + self.ttl_s, not_after)
        payload = {**claims.model_dump(mode="json", exclude_none=True), "iss": self.issuer, "aud": self.audience,
                   "iat": now, "nbf": now, "exp": exp, "jti": uuid.uuid4().hex}
        return jwt.encode(payload, self.keys[0], algorithm="HS256", headers={"kid": _kid(self.keys[0])}), exp - now

    def verify(self, token: str) -> TokenClaims:
        claims = self._verified.get(token)
        if claims is None:
            claims, expires = self._verify(token)
            self._verified.put(token, claims, until=expires)
        return claims

    def _verify(self, token: str) -> tuple[TokenClaims, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise InvalidToken("the token is not a JWT") from None
        key = next((k for k in self.keys if _kid(k) == kid), None)
        if key is None:
            raise InvalidToken("the token was signed with a key that is no longer accepted")
        try:
            payload = jwt.decode(token, key, algorithms=["HS256"], audience=self.audience, issuer=self.issuer,
                                 options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired; request a new one") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        try:
            return TokenClaims.model_validate(payload), float(payload["exp"])
        except ValueError:
            raise InvalidToken("the token does not carry a valid identity") from None


def _kid(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]
