"""Encryption of stored secrets (Toast client secrets, webhook secrets, cached tokens) with Fernet."""
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


class SecretUnreadable(RuntimeError):
    """A stored secret cannot be decrypted: PORTAL_ENCRYPTION_KEY changed or the value was tampered with."""


def _key() -> str | bytes:
    key = current_app.config.get("PORTAL_ENCRYPTION_KEY")
    if not key:
        raise SecretUnreadable("PORTAL_ENCRYPTION_KEY is not set")
    return key


def _fernet(key: str | bytes) -> Fernet:
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(plaintext: str) -> str:
    return _fernet(_key()).encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _decrypted(_key(), ciphertext)
    except InvalidToken:
        raise SecretUnreadable("a stored secret could not be decrypted with PORTAL_ENCRYPTION_KEY") from None


@lru_cache(maxsize=4096)
def _decrypted(key: str | bytes, ciphertext: str) -> str:
    """Remembered: every webhook receipt checks its signature with its connection's secret."""
    return _fernet(key).decrypt(ciphertext.encode("ascii")).decode()
