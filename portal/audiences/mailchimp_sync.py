"""Mailchimp: membership of a synced segment is a tag (a static segment) on members of the destination audience.

* New members go through batch subscribe without ``update_existing``, with the status their consent on record allows
  (``subscribed`` only with a recorded opt-in, else ``transactional``); a contact that already existed is answered
  ERROR_CONTACT_EXISTS and is left as it is (tagged, never updated, never untagged unless this sync tagged it).
* Changed members are updated with ``update_existing`` and the status the destination already holds for them, so a
  status never moves up; unsubscribed or cleaned members are never written (``diff.SILENT``).
* Removal untags (``members_to_remove``), never unsubscribes or archives; an erased guest (whose address is gone here)
  is untagged by subscriber hash, and deleted for good when this sync created it.
* Merge fields are created before first use; the tag is created on the first run.
"""
import json

from sqlalchemy import select

from portal.audiences import clients, diff, snapshot
from portal.audiences.pipeline import pipeline
from portal.audiences.fields import FIELDS
from portal.extensions import db
from portal.models import Guest

BATCH = clients.MAILCHIMP_BATCH
WIDTH = clients.MAILCHIMP_LIMITS.concurrency  # requests in flight: Mailchimp allows 10 connections per key


def remote_id(member) -> str:
    return clients.mailchimp_subscriber_hash(member.email)


def prepare(ctx) -> None:
    """Create the merge fields this sync sends and its tag, once."""
    sync, client, list_id = ctx.sync, ctx.client, ctx.destination.list_id
    keys = _keys(sync)
    known = set(_json_list(sync.remote_fields_json))
    tags = {FIELDS[key].merge_tag for key in keys} - known
    if tags:
        existing = client.merge_field_tags(list_id)
        for key in keys:
            field = FIELDS[key]
            if field.merge_tag in tags and field.merge_tag not in existing:
                client.create_merge_field(list_id, field.merge_tag, field.label, field.merge_type)
        sync.remote_fields_json = _dumps(sorted(known | tags))
    if not sync.remote_segment_id:
        sync.remote_segment_id = client.create_static_segment(list_id, f"Tablecloth: {sync.segment.name}"[:100])
    ctx.checkpoint()


def plan(ctx):
    return diff.plan(ctx.sync, _keys(ctx.sync), remote_id)


def send(ctx, work) -> None:
    state = snapshot.state_of(work.snapshot)
    new = [row for row in work.upserts if _is_new(state.get(row.guest_id))]
    changed = [row for row in work.upserts if not _is_new(state.get(row.guest_id))]
    batches = [(new[i:i + BATCH], False) for i in range(0, len(new), BATCH)]
    batches += [(changed[i:i + BATCH], True) for i in range(0, len(changed), BATCH)]
    list_id = ctx.destination.list_id

    def prepared():
        for rows, update_existing in batches:
            yield rows, update_existing, _prepare(ctx, rows, state, update_existing)

    pipeline(prepared(), lambda item: ctx.client.batch_subscribe(list_id, item[2], update_existing=item[1]),
             lambda item, answer: _stored(ctx, item[0], state, work.resent, answer), WIDTH)
    _tag_and_untag(ctx, work, state)


def _is_new(known) -> bool:
    return known is None or known.remote_status in (None, "rejected")


def _prepare(ctx, rows, state, update_existing: bool) -> list[dict]:
    """The intent first (checkpointed): an echo of this very write after a kill is recognised as ours."""
    snapshot.mark_pending(ctx.sync.id, state, [(row.guest_id, remote_id(row)) for row in rows])
    ctx.checkpoint()
    return [_member_body(row, state[row.guest_id], update_existing) for row in rows]


def _stored(ctx, rows, state, resent, answer: dict) -> None:
    """One batch subscribe's answer into the snapshot and the run's counts, checkpointed."""
    by_hash = {remote_id(row): row for row in rows}
    added = updated = rejected = 0
    for item in answer.get("new_members", []) + answer.get("updated_members", []):
        row = by_hash.get(item.get("id") or clients.mailchimp_subscriber_hash(item.get("email_address", "")))
        if row is None:
            continue
        member = state[row.guest_id]
        if member.remote_status in (None, "rejected"):
            member.created_by_sync = True
            added += 1
        else:
            updated += 1
        member.remote_status, member.fingerprint = item.get("status") or member.remote_status, row.fingerprint
    for error in answer.get("errors", []):
        row = by_hash.get(clients.mailchimp_subscriber_hash(error.get("email_address") or ""))
        if row is None:
            continue
        member = state[row.guest_id]
        if error.get("error_code") == "ERROR_CONTACT_EXISTS":
            if row.guest_id in resent:  # our own earlier write, whose answer was lost
                member.created_by_sync, member.remote_status = True, _status_for(row)
            else:  # someone else's contact: tag it, never change it
                member.remote_status = "unknown"
            member.fingerprint = row.fingerprint
            added += 1
        else:
            ctx.reject(row.guest_id, error.get("error_code") or "ERROR_GENERIC", error.get("error") or "refused")
            member.remote_status, member.fingerprint = "rejected", row.fingerprint
            rejected += 1
    for row in rows:
        state[row.guest_id].remote_id = remote_id(row)
    snapshot.store(ctx.sync.id, [state[row.guest_id] for row in rows])
    ctx.checkpoint(added=added, updated=updated, rejected=rejected)


def _member_body(row, member, update_existing: bool) -> dict:
    merge = {FIELDS[key].merge_tag: value for key, value in row.values.items()}
    status = member.remote_status if update_existing else _status_for(row)
    return {"email_address": row.email, "status": status, "merge_fields": merge}


def _status_for(row) -> str:
    """Never create consent: subscribed only with a recorded opt-in."""
    return "subscribed" if row.opted_in else "transactional"


def _tag_and_untag(ctx, work, state) -> None:
    """Tag the new members and untag the leavers, up to 500 of each per call."""
    tags = [row for row in work.tags if state[row.guest_id].remote_status not in ("rejected", None)]
    leavers = work.removals
    emails = dict(db.session.execute(select(Guest.id, Guest.email).where(
        Guest.id.in_([m.guest_id for m in leavers]), Guest.email.is_not(None))).all()) if leavers else {}
    by_email = [m for m in leavers if m.guest_id in emails]
    by_hash = [m for m in leavers if m.guest_id not in emails]
    list_id, segment_id = ctx.destination.list_id, ctx.sync.remote_segment_id
    calls = [(tags[i:i + BATCH], by_email[i:i + BATCH]) for i in range(0, max(len(tags), len(by_email)), BATCH)]

    def send_one(item):
        add, remove = item
        return ctx.client.segment_members(list_id, segment_id, [row.email for row in add],
                                          [emails[m.guest_id] for m in remove])

    def stored(item, answer):
        add, remove = item
        strangers = {clients.mailchimp_subscriber_hash(e) for error in answer.get("errors", [])
                     for e in error.get("email_addresses", [])}
        if add:
            db.session.execute(snapshot.by_key("in_list"), [
                {"s": ctx.sync.id, "g": row.guest_id, "in_list": remote_id(row) not in strangers} for row in add])
        for member in remove:
            member.in_list = False
        ctx.checkpoint(removed=len(remove))

    pipeline(iter(calls), send_one, stored, WIDTH)
    for member in by_hash:  # erased or merged away: no address left here, only the subscriber hash
        ctx.client.request("DELETE", f"/lists/{list_id}/segments/{segment_id}/members/{member.remote_id}")
        if member.created_by_sync:
            ctx.client.request("POST", f"/lists/{list_id}/members/{member.remote_id}/actions/delete-permanent")
        db.session.delete(member)
        ctx.checkpoint(removed=1)


def _keys(sync) -> list[str]:
    return _json_list(sync.fields_json)


def _json_list(text: str) -> list:
    return json.loads(text or "[]")


def _dumps(value) -> str:
    return json.dumps(value)
