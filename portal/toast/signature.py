"""Toast webhook signatures: Base64(HMAC-SHA256(secret, raw body + envelope timestamp))."""
import base64
import hashlib
import hmac


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """Signature Toast puts in the ``Toast-Signature`` header for ``body`` sent at envelope ``timestamp``."""
    digest = hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, body: bytes, timestamp: str, signature: str | None) -> bool:
    """True when ``signature`` matches; compares in constant time."""
    if not signature:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), signature.strip())
