"""Opt-outs coming back from the destinations into the suppression list (``portal.privacy.consent``), so every other
destination and every export respects them: Mailchimp list webhooks (unsubscribe, cleaned) and Klaviyo's email
suppressions, polled. The member's snapshot records the status, so no run writes to it again. A member who
subscribes in Mailchimp (its own signup form) is recorded as subscribed in the snapshot only: the next update sends
that status back instead of the one we last saw, and no consent is recorded here for other destinations. Nothing
here logs an address; audit rows carry counts (``guest.opt_outs_imported``).
"""
import logging
from datetime import datetime, timezone

from sqlalchemy import select, update

from portal import crypto
from portal.audiences import accounts, clients
from portal.contacts import normalize_email
from portal.extensions import db
from portal.models import AudienceDestination, AudienceMember, AudienceSync
from portal.models.audience import DESTINATION_ACTIVE
from portal.models.base import utcnow
from portal.privacy import consent

log = logging.getLogger("tablecloth.audiences")
MAILCHIMP_EVENTS = {"unsubscribe": "unsubscribed", "cleaned": "cleaned"}


def destination_for_token(token: str) -> AudienceDestination | None:
    return db.session.scalar(select(AudienceDestination).where(AudienceDestination.webhook_token == token[:64]))


def mailchimp_event(destination: AudienceDestination, form) -> bool:
    """Apply one Mailchimp list webhook (form fields ``type``, ``data[email]``, ``data[list_id]``); False when it is
    not one this sync cares about. The caller commits."""
    kind = form.get("type", "")
    email = normalize_email(form.get("data[email]") or "")
    if not email or form.get("data[list_id]") != destination.list_id:
        return False
    if kind == "subscribe":
        _remember_status(destination, [email], "subscribed", clients.mailchimp_subscriber_hash)
        return True
    status = MAILCHIMP_EVENTS.get(kind)
    if status is None:
        return False
    _opted_out(destination, [email], status, clients.mailchimp_subscriber_hash)
    return True


def _opted_out(destination: AudienceDestination, emails: list[str], status: str, remote_id) -> None:
    consent.import_unsubscribes(destination.org_id, "\n".join(emails).encode())
    if remote_id is not None:
        _remember_status(destination, emails, status, remote_id)


def _remember_status(destination: AudienceDestination, emails: list[str], status: str, remote_id) -> None:
    """The status the destination now holds for these members, in every sync's snapshot of the destination."""
    sync_ids = select(AudienceSync.id).where(AudienceSync.destination_id == destination.id)
    db.session.execute(update(AudienceMember).where(
        AudienceMember.sync_id.in_(sync_ids), AudienceMember.remote_id.in_([remote_id(e) for e in emails]))
        .values(remote_status=status))


def poll_klaviyo_suppressions() -> int:
    """Read every active Klaviyo destination's email suppressions since the last poll; returns how many addresses
    were added to suppression lists. A destination that cannot be read is skipped until the next poll."""
    found = 0
    for destination in db.session.scalars(select(AudienceDestination).where(
            AudienceDestination.kind == "klaviyo", AudienceDestination.status == DESTINATION_ACTIVE)):
        found += poll_destination(destination)
    return found


def poll_destination(destination: AudienceDestination, client=None) -> int:
    """One Klaviyo destination's suppressions since its last poll into the suppression list; the caller commits."""
    since = destination.suppressions_polled_at or datetime(2000, 1, 1, tzinfo=timezone.utc)
    polled_at = utcnow()
    own = client is None
    client = client or accounts.client_for(destination)
    try:
        rows = client.suppressed_since(since.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    except (clients.DestinationError, crypto.SecretUnreadable) as exc:
        log.warning("Klaviyo suppressions of destination %s not read: %s", destination.id, getattr(exc, "reason", exc))
        return 0
    finally:
        if own:
            client.close()
    emails = sorted({e for e in (normalize_email(email) for email, _ in rows) if e})
    if emails:
        _opted_out(destination, emails, "unsubscribed", None)
    destination.suppressions_polled_at = polled_at
    return len(emails)
