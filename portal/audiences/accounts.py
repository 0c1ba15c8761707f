"""A client for a destination account, paced with every other process using the same account."""
import hashlib

from portal import crypto
from portal.audiences import clients
from portal.audiences.pacing import AccountPacer
from portal.models import AudienceDestination
from portal.queues import redis_connection


def account_key(kind: str, base_url: str, api_key: str) -> str:
    """Names the account in Redis (pacing) without the key itself."""
    return hashlib.sha256(f"{kind}\n{base_url}\n{api_key}".encode()).hexdigest()[:32]


def build_client(kind: str, base_url: str, api_key: str, **options) -> clients.BaseClient:
    limits = clients.MAILCHIMP_LIMITS if kind == "mailchimp" else clients.KLAVIYO_LIMITS
    pacer = AccountPacer(redis_connection(), account_key(kind, base_url, api_key), limits)
    cls = clients.MailchimpClient if kind == "mailchimp" else clients.KlaviyoClient
    return cls(base_url, api_key, pacer, **options)


def client_for(destination: AudienceDestination, **options) -> clients.BaseClient:
    """SecretUnreadable when the stored key cannot be decrypted."""
    return build_client(destination.kind, destination.base_url, crypto.decrypt(destination.api_key_enc), **options)
