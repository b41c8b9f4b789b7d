"""Encryption at rest of callers' personal information (PIPL art. 51): Fernet with rotatable keys."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def _fernet(secret: str) -> Fernet:
    # A Fernet key is 32 url-safe base64 bytes; any secret string is turned into one with SHA-256.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


class PiCipher:
    """Encrypts with the first key; decrypts with any (put a new key first to rotate)."""

    def __init__(self, secrets: list[str]):
        if not secrets:
            raise ValueError("at least one personal-information key is needed")
        self._f = MultiFernet([_fernet(s) for s in secrets])

    def encrypt(self, value: str | None) -> bytes | None:
        return None if value is None or value == "" else self._f.encrypt(value.encode())

    def decrypt(self, token: bytes | None) -> str | None:
        if token is None:
            return None
        try:
            return self._f.decrypt(bytes(token)).decode()
        except InvalidToken:
            raise ValueError("personal information cannot be decrypted with the configured keys") from None
