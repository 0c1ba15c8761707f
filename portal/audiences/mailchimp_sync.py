"""Mailchimp: membership of a synced segment is a tag (a static segment) on members of the destination audience.

* New members go through batch subscribe without ``update_existing``, with the status their consent on record allows
  (``subscribed`` only with a recorded opt-in, else ``transactional``). A contact that already existed is answered
  ERROR_CONTACT_EXISTS: it is tagged, its status read, and while it is subscribed or transactional the fields this
  sync maps are written with a PATCH that names no status (its consent is never changed); it is never untagged
  unless this sync tagged it.
* Changed members are updated with ``update_existing`` and the status the destination already holds for them, so a
  status never moves up; unsubscribed or cleaned members are never written (``diff.SILENT``).
* Removal untags (``members_to_remove``), never unsubscribes or archives; an erased guest (whose address is gone here)
  is untagged by subscriber hash, and deleted for good when this sync created it; a guest whose address changed is
  untagged by the hash of the address sent.
* A run streams: batch subscribes leave as the plan fills them, tags as their upserts are stored (``send``).
* Merge fields are created before first use; the tag is created on the first run.
"""
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from portal.audiences import clients, diff, snapshot
from portal.audiences.pipeline import pipeline
from portal.audiences.fields import FIELDS
from portal.extensions import db
from portal.models import Guest

BATCH = clients.MAILCHIMP_BATCH
WIDTH = clients.MAILCHIMP_LIMITS.concurrency  # requests in flight: Mailchimp allows 10 connections per key
WRITABLE = ("subscribed", "transactional")  # a member that existed before gets our fields only while mailable


def remote_id(row) -> str:
    return clients.mailchimp_subscriber_hash(row.email)


def prepare(ctx) -> None:
    """Create the merge fields this sync sends and its tag, once, side by side (each costs a round trip)."""
    sync, client, list_id = ctx.sync, ctx.client, ctx.destination.list_id
    keys = _keys(sync)
    known = set(_json_list(sync.remote_fields_json))
    tags = {FIELDS[key].merge_tag for key in keys} - known
    creations = []
    if tags:
        existing = client.merge_field_tags(list_id)
        creations = [(client.create_merge_field, (list_id, f.merge_tag, f.label, f.merge_type))
                     for f in (FIELDS[key] for key in keys) if f.merge_tag in tags - existing]
    if not sync.remote_segment_id:
        creations.append((client.create_static_segment, (list_id, f"Tablecloth: {sync.segment.name}"[:100])))
    answers = []
    pipeline(iter(creations), lambda creation: creation[0](*creation[1]), lambda _, answer: answers.append(answer),
             WIDTH)
    if tags:
        sync.remote_fields_json = _dumps(sorted(known | tags))
    if not sync.remote_segment_id:
        sync.remote_segment_id = answers[-1]
    ctx.checkpoint()


def plan(ctx):
    return diff.plan(ctx.sync, _keys(ctx.sync), ctx.run.started_at, clients.mailchimp_subscriber_hash)


@dataclass
class _Call:
    """One request of a run: a batch subscribe of ``changes``, or a tag call."""
    changes: list = field(default_factory=list)  # diff.Change
    update_existing: bool = False
    tags: list = field(default_factory=list)  # MemberRow to tag
    untags: list = field(default_factory=list)  # (snapshot.Member, email) to untag


def send(ctx, work) -> None:
    """The plan streamed into the account's connections: a batch subscribe as soon as planned chunks fill 500,
    each member's tag once its upsert is stored (tag calls of 500, carrying the leavers' untags), so the first
    requests leave while the rest is still being planned and upserts and tags share the connections."""
    state, list_id, segment_id = work.state, ctx.destination.list_id, ctx.sync.remote_segment_id
    emails = _emails_of(work.removals)
    # Untagged by address while the guest still has the address sent; else (erased, merged away, address changed)
    # by subscriber hash, one call each.
    untags = [(m, emails[m.guest_id]) for m in work.removals
              if m.guest_id in emails and clients.mailchimp_subscriber_hash(emails[m.guest_id]) == m.remote_id]
    by_email = {m.guest_id for m, _ in untags}
    by_hash = [m for m in work.removals if m.guest_id not in by_email]
    ready, awaited = [], [0]  # rows to tag; batch subscribes whose answers are not stored yet
    strangers = []  # rows of members that existed before this sync, whose fields are written one by one

    def upsert(changes, update_existing: bool) -> _Call:
        awaited[0] += 1
        _mark_pending(ctx, [c.row for c in changes], state)
        return _Call(changes, update_existing)

    def tag_call() -> _Call:
        call = _Call(tags=ready[:BATCH], untags=untags[:BATCH])
        del ready[:BATCH], untags[:BATCH]
        return call

    def calls():
        waiting = {False: [], True: []}  # update_existing -> planned changes not yet in a batch
        for changes in work.changes():
            for change in changes:
                member = state.get(change.row.guest_id)
                if change.upsert and not _is_new(member) and not member.created_by_sync:
                    strangers.append(change.row)
                elif change.upsert:
                    waiting[not _is_new(member)].append(change)
                elif _taggable(state[change.row.guest_id]):
                    ready.append(change.row)
            for update_existing, batch in waiting.items():
                while len(batch) >= BATCH:
                    yield upsert(batch[:BATCH], update_existing)
                    del batch[:BATCH]
            while len(ready) >= BATCH:
                yield tag_call()
        for update_existing, batch in waiting.items():
            if batch:
                yield upsert(batch, update_existing)
        while awaited[0]:  # the last tags wait for their upserts' answers
            yield tag_call() if len(ready) >= BATCH else None
        while ready or untags:
            yield tag_call()

    def send_one(call: _Call) -> dict:
        if call.changes:
            body = [_member_body(c.row, state[c.row.guest_id], call.update_existing) for c in call.changes]
            return ctx.client.batch_subscribe(list_id, body, update_existing=call.update_existing)
        return ctx.client.segment_members(list_id, segment_id, [row.email for row in call.tags],
                                          [email for _, email in call.untags])

    def apply(call: _Call, answer: dict) -> None:
        if call.changes:
            strangers.extend(_stored(ctx, [c.row for c in call.changes], state, work.resent, answer))
            awaited[0] -= 1
            ready.extend(c.row for c in call.changes if c.tag and _taggable(state[c.row.guest_id]))
        else:
            _tagged(ctx, call, state, answer)

    pipeline(calls(), send_one, apply, WIDTH)
    _update_strangers(ctx, strangers, state)
    for member in by_hash:
        ctx.client.request("DELETE", f"/lists/{list_id}/segments/{segment_id}/members/{member.remote_id}")
        if member.created_by_sync and member.guest_id not in emails:  # erased or merged away: no address left
            ctx.client.request("POST", f"/lists/{list_id}/members/{member.remote_id}/actions/delete-permanent")
        snapshot.forget(ctx.sync.id, member.guest_id)
        ctx.checkpoint(removed=1)


def _taggable(member) -> bool:
    return member.remote_status not in ("rejected", None)


def _emails_of(leavers) -> dict:
    if not leavers:
        return {}
    ids = [m.guest_id for m in leavers]
    return {guest_id: email for start in range(0, len(ids), diff.READ_CHUNK)
            for guest_id, email in db.session.execute(select(Guest.id, Guest.email).where(
                Guest.id.in_(ids[start:start + diff.READ_CHUNK]), Guest.email.is_not(None)))}


def _tagged(ctx, call: _Call, state, answer: dict) -> None:
    """A tag call's answer: who is in the tag now (a member Mailchimp refused to tag is not), checkpointed."""
    strangers = {clients.mailchimp_subscriber_hash(e) for error in answer.get("errors", [])
                 for e in error.get("email_addresses", [])}
    for row in call.tags:
        state[row.guest_id].in_list = remote_id(row) not in strangers
    for member, _ in call.untags:
        member.in_list = False
    snapshot.store_in_list(ctx.sync.id, [state[row.guest_id] for row in call.tags] + [m for m, _ in call.untags])
    ctx.checkpoint(removed=len(call.untags))


def _is_new(known) -> bool:
    return known is None or known.remote_status in (None, "rejected")


def _mark_pending(ctx, rows, state) -> None:
    """The intent first (checkpointed): an echo of this very write after a kill is recognised as ours."""
    snapshot.mark_pending(ctx.sync.id, state, [(row.guest_id, remote_id(row)) for row in rows])
    ctx.checkpoint()


def _stored(ctx, rows, state, resent, answer: dict) -> list:
    """One batch subscribe's answer into the snapshot and the run's counts, checkpointed; the rows of members that
    existed before this sync (their fields are still to be written)."""
    by_hash = {remote_id(row): row for row in rows}
    added = updated = rejected = 0
    strangers = []
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
                member.created_by_sync, member.remote_status, member.fingerprint = True, _status_for(row), \
                    row.fingerprint
            else:  # someone else's contact: tagged, its status never changed, its fields written after
                member.remote_status, member.fingerprint = "unknown", None
                strangers.append(row)
            added += 1
        else:
            ctx.reject(row.guest_id, error.get("error_code") or "ERROR_GENERIC", error.get("error") or "refused")
            member.remote_status, member.fingerprint = "rejected", row.fingerprint
            rejected += 1
    for row in rows:
        state[row.guest_id].remote_id = remote_id(row)
    snapshot.store(ctx.sync.id, [state[row.guest_id] for row in rows])
    ctx.checkpoint(added=added, updated=updated, rejected=rejected)
    return strangers


def _update_strangers(ctx, rows, state) -> None:
    """Members that existed before this sync, one per call: their status read, then the fields this sync maps
    written by a PATCH naming no status, only while they may be mailed (subscribed or transactional)."""
    list_id = ctx.destination.list_id

    def send_one(row) -> str | None:
        try:
            status = ctx.client.member_status(list_id, remote_id(row))
            if status in WRITABLE:
                ctx.client.update_merge_fields(list_id, remote_id(row), _merge_fields(row))
            return status
        except clients.FatalError:  # gone from the list meanwhile: tried again next run
            return None

    def apply(row, status: str | None) -> None:
        member = state[row.guest_id]
        if status is not None:
            updated = member.fingerprint is not None and status in WRITABLE  # values written before: an update
            member.remote_status, member.fingerprint = status, row.fingerprint
            snapshot.store(ctx.sync.id, [member])
            ctx.checkpoint(updated=int(updated))

    pipeline(iter(rows), send_one, apply, WIDTH)


def _member_body(row, member, update_existing: bool) -> dict:
    status = member.remote_status if update_existing else _status_for(row)
    return {"email_address": row.email, "status": status, "merge_fields": _merge_fields(row)}


def _merge_fields(row) -> dict:
    return {FIELDS[key].merge_tag: value for key, value in row.values.items()}


def _status_for(row) -> str:
    """Never create consent: subscribed only with a recorded opt-in."""
    return "subscribed" if row.opted_in else "transactional"


def _keys(sync) -> list[str]:
    return _json_list(sync.fields_json)


def _json_list(text: str) -> list:
    return json.loads(text or "[]")


def _dumps(value) -> str:
    return json.dumps(value)
