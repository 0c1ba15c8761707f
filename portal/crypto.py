"""Encryption of stored secrets (Toast client secrets, webhook secrets, cached tokens) with Fernet."""
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


class SecretUnreadable(RuntimeError):
    """A stored secret cannot be decrypted: PORTAL_ENCRYPTION_KEY changed or the value was tampered with."""


def _fernet() -> Fernet:
    key = current_app.config.get("PORTAL_ENCRYPTION_KEY")
    if not key:
        raise SecretUnreadable("PORTAL_ENCRYPTION_KEY is not set")
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode("ascii")).decode()
    except InvalidToken:
        raise SecretUnreadable("a stored secret could not be decrypted with PORTAL_ENCRYPTION_KEY") from None
