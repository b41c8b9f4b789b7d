"""Which credentials this replica honours right now: credentials revoked and clients disabled (their tokens
stop working), and API keys verified lately (argon2 is slow on purpose, so a verified key is kept briefly).
In memory, no I/O; the clock is passed in."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any


def token_digest(token: str) -> str:
    """How a signed-out token is kept and looked up (the token itself is a bearer secret)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_digest(sid: str) -> str:
    """How a signed-out session is kept and looked up, beside the tokens (never the digest of a token: a JWT
    has no space)."""
    return token_digest("session " + sid)


class Revocations:
    """Credentials revoked and clients disabled: tokens issued for them stop working; tokens and sessions signed out
    (by their digest) too.

    Reloaded from the database every few seconds (so every gateway replica learns of a revocation),
    and updated at once in the replica that made it.
    """

    # How long a change made here is kept: a reload whose read began before the change was committed must not
    # undo it (a reload is far shorter than this).
    KEEP_LOCAL_S = 60.0

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.credentials: set[str] = set()
        self.clients: set[str] = set()
        self.tokens: set[str] = set()
        self._local: list[tuple[float, str, str, bool]] = []  # (when, "credential" | "client" | "token", id, blocked)

    def blocks(self, client_id: str, credential_id: str) -> bool:
        return credential_id in self.credentials or client_id in self.clients

    def signed_out(self, token: str, sid: str | None = None) -> bool:
        """The token signed out, or the session it belongs to."""
        return bool(self.tokens) and (token_digest(token) in self.tokens
                                      or (sid is not None and session_digest(sid) in self.tokens))

    def sign_out(self, token: str, sid: str | None = None) -> None:
        self._record("token", token_digest(token), True)
        if sid is not None:
            self._record("token", session_digest(sid), True)

    def revoke_credential(self, credential_id: str) -> None:
        self._record("credential", credential_id, True)

    def set_client_blocked(self, client_id: str, blocked: bool) -> None:
        self._record("client", client_id, blocked)

    def moment(self) -> float:
        """Now, on the clock the changes made here are recorded by: taken before a reload's read."""
        return self._monotonic()

    def reload(self, credentials: set[str], clients: set[str], tokens: set[str] = frozenset(), *,
               read_started: float) -> None:
        """The state read from the database by a read begun at ``read_started`` (:meth:`moment`), with this
        replica's changes recorded since then applied on top: a change recorded before it (once committed) is in
        what was read, and a later change made elsewhere (a client disabled on another replica after it was
        re-enabled here) has the last word."""
        horizon = self._monotonic() - self.KEEP_LOCAL_S
        self._local = [c for c in self._local if c[0] >= horizon]
        self.credentials, self.clients, self.tokens = set(credentials), set(clients), set(tokens)
        for at, kind, key, blocked in self._local:
            if at >= read_started:
                self._apply(kind, key, blocked)

    def _record(self, kind: str, key: str, blocked: bool) -> None:
        self._local.append((self._monotonic(), kind, key, blocked))
        self._apply(kind, key, blocked)

    def _apply(self, kind: str, key: str, blocked: bool) -> None:
        target = {"credential": self.credentials, "client": self.clients, "token": self.tokens}[kind]
        if blocked:
            target.add(key)
        else:
            target.discard(key)


class VerifiedKeys:
    """API keys sent directly (``X-API-Key``) and verified lately, with the claims they stand for; forgotten
    after ``ttl_s`` seconds, all at once when more than ``max_keys`` are held or any credential changes."""

    def __init__(self, ttl_s: float = 30.0, max_keys: int = 10_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_keys, self._monotonic = ttl_s, max_keys, monotonic
        self._held: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any | None:
        held = self._held.get(key)
        return held[1] if held and held[0] > self._monotonic() else None

    def put(self, key: str, claims: Any) -> None:
        if len(self._held) > self.max_keys:
            self._held.clear()
        self._held[key] = (self._monotonic() + self.ttl_s, claims)

    def clear(self) -> None:
        self._held.clear()

    def __len__(self) -> int:
        return len(self._held)
