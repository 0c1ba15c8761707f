"""Guests' one-click unsubscribe links: a signed, non-expiring token naming (org id, guest id), and the absolute
link on the portal's base URL. ``UNSUBSCRIBE_PREFIX`` is the one place the link's path is written; the
``unsubscribe`` blueprint is mounted on it."""
from itsdangerous import BadSignature, URLSafeSerializer

from portal.models.guest import Guest
from portal.config import Settings

UNSUBSCRIBE_PREFIX = "/u"
TOKEN_SALT = "unsubscribe"


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=TOKEN_SALT)


def unsubscribe_token(secret_key: str, guest: Guest) -> str:
    return _serializer(secret_key).dumps([guest.org_id, guest.id])


def unsubscribe_url(settings: Settings, guest: Guest) -> str:
    """The absolute link (for emails: List-Unsubscribe / List-Unsubscribe-Post; exports; the guest page)."""
    return f"{settings.base_url}{UNSUBSCRIBE_PREFIX}/{unsubscribe_token(settings.secret_key, guest)}"


def named_guest(secret_key: str, token: str) -> tuple[int, int] | None:
    """The (org id, guest id) a token names, or None for a bad signature or a malformed payload."""
    try:
        payload = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if not (isinstance(payload, list) and len(payload) == 2 and all(type(v) is int for v in payload)):
        return None
    return payload[0], payload[1]
