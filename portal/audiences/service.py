"""Destinations (connect, test, disconnect), audience syncs and starting their runs.

Owners connect destinations; the API key is checked with the destination before anything is stored, then kept
Fernet-encrypted (``portal.crypto``) and never shown again. Starting a run when one is queued or running returns
that one (one run per sync at a time). Audited with ids and counts only.
"""
import json
import secrets
from urllib.parse import urlparse

from sqlalchemy import select

from portal import crypto, jobs
from portal.audiences import accounts, clients, fields, runs
from portal.audit import service as audit
from portal.errors import InputError
from portal.extensions import db
from portal.models import AudienceDestination, AudienceRejection, AudienceRun, AudienceSync, Segment
from portal.models.audience import DESTINATION_ACTIVE, KIND_LABELS, KINDS, RUN_ACTIVE, RUN_QUEUED, TRIGGERS

MAX_KEY = 200


def check_input(kind: str, base_url: str, api_key: str, list_id: str) -> tuple[str, str, str, str]:
    """Cleaned (kind, base URL, key, list id); InputError naming what is wrong."""
    kind, base_url, api_key, list_id = (kind or "").strip().lower(), (base_url or "").strip().rstrip("/"), \
        (api_key or "").strip(), (list_id or "").strip()
    if kind not in KINDS:
        raise InputError(f"kind must be one of: {', '.join(KINDS)}")
    if not api_key:
        raise InputError("the API key is empty")
    if len(api_key) > MAX_KEY or any(c.isspace() for c in api_key):
        raise InputError("the API key does not look like a key (spaces, or far too long)")
    if kind == "mailchimp":
        center = clients.mailchimp_data_center(api_key)
        if center is None:
            raise InputError("a Mailchimp API key ends with its data center, like -us19")
        base_url = base_url or f"https://{center}.api.mailchimp.com/3.0"
    base_url = base_url or "https://a.klaviyo.com"
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError("the base URL must start with http:// or https://")
    if not list_id or len(list_id) > 64 or not list_id.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"give the {KIND_LABELS[kind]} list id (letters and digits)")
    return kind, base_url, api_key, list_id


def test_credentials(kind: str, base_url: str, api_key: str, list_id: str) -> str:
    """The list's name as the destination reports it; InputError with the destination's reason otherwise."""
    client = accounts.build_client(kind, base_url, api_key)
    try:
        return client.check_list(list_id)
    except clients.DestinationError as exc:
        raise InputError(f"{KIND_LABELS[kind]} did not accept this: {exc.reason}") from None
    finally:
        client.close()


def connect(org_id: int, *, kind: str, base_url: str, api_key: str, list_id: str, user=None,
            webhook_base: str | None = None) -> AudienceDestination:
    """Check and store a destination; Mailchimp lists get our unsubscribe webhook. The caller commits.
    InputError for bad input or a key/list the destination refuses."""
    kind, base_url, api_key, list_id = check_input(kind, base_url, api_key, list_id)
    name = test_credentials(kind, base_url, api_key, list_id)
    destination = AudienceDestination(
        org_id=org_id, kind=kind, name=name[:120], base_url=base_url, list_id=list_id,
        api_key_enc=crypto.encrypt(api_key), account_key=accounts.account_key(kind, base_url, api_key),
        webhook_token=secrets.token_urlsafe(24), status=DESTINATION_ACTIVE,
        created_by_id=user.id if user is not None else None)
    db.session.add(destination)
    db.session.flush()
    if kind == "mailchimp" and webhook_base:
        client = accounts.build_client(kind, base_url, api_key)
        try:
            client.add_webhook(list_id, f"{webhook_base.rstrip('/')}/webhooks/mailchimp/{destination.webhook_token}")
        except clients.DestinationError as exc:
            raise InputError(f"Mailchimp refused our unsubscribe webhook: {exc.reason}") from None
        finally:
            client.close()
    audit.record("audience.destination_connected", org_id=org_id, target=destination,
                 details={"kind": kind, "destination_id": destination.id}, actor=user)
    return destination


def test_destination(destination: AudienceDestination) -> tuple[bool, str]:
    """(works, message) after asking the destination for the list with the stored key."""
    try:
        name = test_credentials(destination.kind, destination.base_url, crypto.decrypt(destination.api_key_enc),
                                destination.list_id)
    except (InputError, crypto.SecretUnreadable) as exc:
        return False, str(exc)
    destination.status, destination.status_reason, destination.name = DESTINATION_ACTIVE, None, name[:120]
    return True, f"Connected: the list \"{name}\" answers."


def disconnect(destination: AudienceDestination, user=None) -> None:
    """Forget the destination, its syncs, snapshots and run history (the destination's data stays there)."""
    audit.record("audience.destination_disconnected", org_id=destination.org_id, target=destination,
                 details={"kind": destination.kind, "destination_id": destination.id}, actor=user)
    for sync in db.session.scalars(select(AudienceSync).where(AudienceSync.destination_id == destination.id)):
        db.session.delete(sync)
    db.session.delete(destination)


def destinations_of(org_id: int) -> list[AudienceDestination]:
    return list(db.session.scalars(select(AudienceDestination).where(AudienceDestination.org_id == org_id)
                                   .order_by(AudienceDestination.id)))


def destination_of(org_id: int, destination_id) -> AudienceDestination:
    destination = db.session.scalar(select(AudienceDestination).where(
        AudienceDestination.org_id == org_id, AudienceDestination.id == _int(destination_id)))
    if destination is None:
        raise InputError(f"no destination {destination_id} in this organization")
    return destination


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def sync_for(segment: Segment, destination: AudienceDestination, keys=None, user=None) -> AudienceSync:
    """The segment's sync to the destination, created with ``keys`` (default fields) when missing; ``keys`` given
    for an existing sync replaces its fields. InputError for unknown fields or another organization's rows."""
    if segment.org_id != destination.org_id:
        raise InputError("the segment and the destination belong to different organizations")
    try:
        chosen = fields.validate(list(keys) if keys is not None else list(fields.DEFAULT_FIELDS))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    sync = db.session.scalar(select(AudienceSync).where(AudienceSync.segment_id == segment.id,
                                                        AudienceSync.destination_id == destination.id))
    if sync is None:
        sync = AudienceSync(org_id=segment.org_id, segment=segment, destination=destination,
                            fields_json=json.dumps(chosen), created_by_id=user.id if user is not None else None)
        db.session.add(sync)
        db.session.flush()
        audit.record("audience.sync_created", org_id=segment.org_id, target=sync,
                     details={"segment_id": segment.id, "destination_id": destination.id}, actor=user)
    elif keys is not None:
        sync.fields_json = json.dumps(chosen)
    return sync


def syncs_of_segment(segment: Segment) -> list[AudienceSync]:
    return list(db.session.scalars(select(AudienceSync).where(AudienceSync.segment_id == segment.id)
                                   .order_by(AudienceSync.id)))


def active_run(sync: AudienceSync) -> AudienceRun | None:
    return db.session.scalar(select(AudienceRun).where(AudienceRun.sync_id == sync.id,
                                                       AudienceRun.status.in_(RUN_ACTIVE))
                             .order_by(AudienceRun.id.desc()).limit(1))


def start_run(sync: AudienceSync, trigger: str, user=None, *, enqueue: bool = True) -> AudienceRun:
    """A queued run of the sync (or the one already queued or running), committed; queued for a worker unless
    ``enqueue`` is False (the caller runs it inline). InputError when the destination needs reconnecting."""
    assert trigger in TRIGGERS
    if sync.destination.status != DESTINATION_ACTIVE:
        raise InputError(f"{sync.destination.label} needs reconnecting: {sync.destination.status_reason or ''}")
    run = active_run(sync)
    if run is None:
        run = AudienceRun(org_id=sync.org_id, sync=sync, status=RUN_QUEUED, trigger=trigger,
                          started_by_id=user.id if user is not None else None)
        db.session.add(run)
        db.session.flush()
        audit.record("audience.sync_started", org_id=sync.org_id, target=sync,
                     details={"run_id": run.id, "trigger": trigger}, actor=user)
    db.session.commit()
    if enqueue:
        jobs.enqueue_audience_run(sync.org_id, sync.id, run.id)
    return run


def run_inline(run: AudienceRun) -> AudienceRun:
    """Execute the run in this process (``flask audiences sync --inline``)."""
    return runs.execute(run.id)


def recent_runs(sync: AudienceSync, limit: int = 10) -> list[AudienceRun]:
    return list(db.session.scalars(select(AudienceRun).where(AudienceRun.sync_id == sync.id)
                                   .order_by(AudienceRun.id.desc()).limit(limit)))


def rejections(run: AudienceRun) -> list[tuple[int, str, str]]:
    """(guest id, code, reason) of the records the destination refused in the run."""
    return db.session.execute(select(AudienceRejection.guest_id, AudienceRejection.code, AudienceRejection.reason)
                              .where(AudienceRejection.run_id == run.id).order_by(AudienceRejection.id)).all()


def history(org_id: int, limit: int = 200) -> list[AudienceRun]:
    return list(db.session.scalars(select(AudienceRun).where(AudienceRun.org_id == org_id)
                                   .order_by(AudienceRun.id.desc()).limit(limit)))


def run_summary(run: AudienceRun) -> dict:
    return {"run_id": run.id, "sync_id": run.sync_id, "segment": run.sync.segment.slug,
            "destination_id": run.sync.destination_id, "status": run.status, "trigger": run.trigger,
            "started_by": run.started_by.email if run.started_by else None, "members": run.members, "added": run.added, "updated": run.updated,
            "removed": run.removed, "unchanged": run.unchanged, "rejected": run.rejected,
            "relay_skipped": run.relay_skipped, "api_calls": run.api_calls,
            "write_calls": run.write_calls, "seconds": run.seconds, "error": run.error,
            "started_at": run.started_at.isoformat() if run.started_at else None}
