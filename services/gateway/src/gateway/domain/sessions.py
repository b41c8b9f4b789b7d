"""A person's sign-in session on the pages: its tokens are short-lived (``token_ttl_s``), and a page of the
session in use gets a fresh one once the one it has is past half its life, until the session's end,
``max_s`` after signing in, however busy. Signing out ends the session (every token of it). No I/O; the
time is passed in."""

from __future__ import annotations

from dataclasses import dataclass

from .identity import TokenClaims


@dataclass(frozen=True)
class SessionRules:
    token_ttl_s: int
    max_s: int

    def ends(self, claims: TokenClaims) -> int | None:
        """When the token's session ends (seconds since the epoch); None for a token of no session (a system's)."""
        return claims.auth_time + self.max_s if claims.sid and claims.auth_time is not None else None

    def renewal(self, claims: TokenClaims, now: float) -> int | None:
        """The session's end, when the token should give way to a fresh one now (past half its life, the session
        going on beyond it); None otherwise: still fresh, already lasting to the session's end, the session over,
        or a token of no session."""
        ends = self.ends(claims)
        if ends is None or claims.exp is None or now >= ends or claims.exp >= ends:
            return None
        return ends if claims.exp - now <= self.token_ttl_s / 2 else None

    def lasts(self, claims: TokenClaims, now: float) -> bool:
        """Whether what the token opened may go on now (a live page's stream): a session's to the session's end,
        its tokens renewed meanwhile by the page; another token's to its expiry."""
        ends = self.ends(claims)
        return now < (ends if ends is not None else (claims.exp or 0))
