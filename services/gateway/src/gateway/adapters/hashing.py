"""Secrets are stored as argon2id hashes; verifying runs off the event loop (it is meant to be slow)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..domain.identity import new_secret


class SecretHasher:
    def __init__(self, time_cost: int = 2, memory_cost: int = 19 * 1024, parallelism: int = 1):
        self._ph = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        self._dummy: str | None = None

    async def hash(self, secret: str) -> str:
        return await asyncio.to_thread(self._ph.hash, secret)

    async def verify(self, hashed: str, secret: str) -> bool:
        def check() -> bool:
            try:
                return self._ph.verify(hashed, secret)
            except (VerificationError, InvalidHashError):
                return False
        return await asyncio.to_thread(check)

    async def burn(self, secret: str) -> None:
        """Spend the time of one verification (so an unknown user name answers as slowly as a wrong password)."""
        if self._dummy is None:
            self._dummy = await self.hash(new_secret())
        await self.verify(self._dummy, secret)
