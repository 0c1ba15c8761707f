"""Klaviyo: membership of a synced segment is membership of the destination list.

* Adds and updates go through bulk profile import jobs (at most 10,000 profiles / 5 MB each) with the list as their
  relationship; the job is polled until it completes, its import errors become rejected records, and the Klaviyo
  profile ids of its profiles are kept (removal needs them).
* Importing a profile never subscribes it: a member is subscribed (bulk subscribe, the list's own opt-in process)
  only with a marketing opt-in on record, once, right after its import. Klaviyo's subscribe also lifts its
  suppressions, so the suppressions are read back first (``optouts``): a guest who unsubscribed there has opted out
  here and is not sent at all. A member without an opt-in is imported without a subscription (never create consent).
* Removal takes profiles this sync put in the list out of it (at most 1,000 ids per call); it never deletes or
  unsubscribes them.
"""
import json
import time

from portal.audiences import clients, diff, optouts, snapshot
from portal.audiences.pipeline import pipeline
from portal.audiences.fields import FIELDS

POLL_WAITS = (0.2, 0.5, 1, 2, 3, 5)  # seconds between job polls, growing
JOBS_IN_FLIGHT = 3  # import jobs sent and awaited side by side (the pacer keeps the account's rate)
SUBSCRIBED = "subscribed"  # the snapshot's status of a member this sync subscribed (never subscribed again)


def external_id(org_id: int, guest_id: int) -> str:
    return f"tablecloth-{org_id}-{guest_id}"


def prepare(ctx) -> None:
    optouts.poll_destination(ctx.destination, ctx.client)  # opt-outs made there leave before anything is sent
    ctx.checkpoint()


def plan(ctx):
    return diff.plan(ctx.sync, json.loads(ctx.sync.fields_json), ctx.run.started_at)


def send(ctx, work) -> None:
    state, client, list_id = work.state, ctx.client, ctx.destination.list_id
    rows = (change.row for changes in work.changes() for change in changes)

    def prepared():
        for chunk in _import_chunks(ctx, rows):
            snapshot.mark_pending(ctx.sync.id, state, [(row.guest_id, None) for row, _ in chunk])
            ctx.checkpoint()
            yield chunk, [row.email for row, _ in chunk
                          if row.opted_in and state[row.guest_id].remote_status != SUBSCRIBED]

    pipeline(prepared(), lambda item: _run_job(client, list_id, *item),
             lambda item, outcome: _stored(ctx, item[0], state, *outcome), JOBS_IN_FLIGHT)
    leavers = [m for m in work.removals if m.remote_id]
    for start in range(0, len(leavers), clients.KLAVIYO_REMOVE_MAX):
        chunk = leavers[start:start + clients.KLAVIYO_REMOVE_MAX]
        client.remove_from_list(list_id, [m.remote_id for m in chunk])
        for member in chunk:
            member.in_list = False
        snapshot.store_in_list(ctx.sync.id, chunk)
        ctx.checkpoint(removed=len(chunk))


def _profile(ctx, row) -> dict:
    attributes = {"email": row.email, "external_id": external_id(ctx.sync.org_id, row.guest_id)}
    for key, value in row.values.items():
        name = FIELDS[key].klaviyo
        if name.startswith("properties."):
            attributes.setdefault("properties", {})[name.split(".", 1)[1]] = value
        elif value not in ("", None):
            attributes[name] = value
    return {"type": "profile", "attributes": attributes}


def _import_chunks(ctx, rows):
    """Chunks within both limits: 10,000 profiles and 5 MB of request body (with room for the envelope)."""
    chunk, size = [], 0
    for row in rows:
        profile = _profile(ctx, row)
        length = len(json.dumps(profile)) + 1
        if chunk and (len(chunk) >= clients.KLAVIYO_IMPORT_MAX or size + length > clients.KLAVIYO_IMPORT_BYTES - 4096):
            yield chunk
            chunk, size = [], 0
        chunk.append((row, profile))
        size += length
    if chunk:
        yield chunk


def _run_job(client, list_id: str, chunk, to_subscribe: list[str]) -> tuple[dict, dict, set]:
    """One import job, on a sender thread: send it, wait for it, read its rejected rows and its profile ids, then
    subscribe the imported members of ``to_subscribe``. Returns (email -> (code, reason) of rejected rows, external
    id -> Klaviyo profile id, the emails subscribed)."""
    job_id = client.import_profiles(list_id, [profile for _, profile in chunk])
    job = _wait(client, job_id)
    failed = {}
    if job.get("failed_count"):
        for error in client.import_errors(job_id):
            attributes = error.get("attributes") or {}
            email = ((attributes.get("original_payload") or {}).get("email") or "").lower()
            failed[email] = (attributes.get("code") or "invalid",
                             attributes.get("detail") or attributes.get("title") or "refused")
    ids = client.import_job_profiles(job_id)
    subscribed = [email for email in to_subscribe if email not in failed]
    for start in range(0, len(subscribed), clients.KLAVIYO_SUBSCRIBE_MAX):
        client.subscribe(list_id, subscribed[start:start + clients.KLAVIYO_SUBSCRIBE_MAX])
    return failed, ids, set(subscribed)


def _stored(ctx, chunk, state, failed: dict, ids: dict, subscribed: set) -> None:
    """One job's outcome into the snapshot and the run's counts, checkpointed."""
    added = updated = rejected = 0
    for row, _ in chunk:
        member = state[row.guest_id]
        if row.email in failed:
            code, reason = failed[row.email]
            ctx.reject(row.guest_id, code, reason)
            member.remote_status, member.fingerprint = "rejected", row.fingerprint
            rejected += 1
            continue
        member.remote_id = ids.get(external_id(ctx.sync.org_id, row.guest_id)) or member.remote_id
        if member.in_list:
            updated += 1
        else:
            member.created_by_sync = member.created_by_sync or member.remote_status is None
            added += 1
        status = SUBSCRIBED if row.email in subscribed or member.remote_status == SUBSCRIBED else "listed"
        member.in_list, member.remote_status, member.fingerprint = True, status, row.fingerprint
    snapshot.store(ctx.sync.id, [state[row.guest_id] for row, _ in chunk])
    ctx.checkpoint(added=added, updated=updated, rejected=rejected)


def _wait(client, job_id: str) -> dict:
    """Poll the job until Klaviyo completes it; a cancelled job is a RetryableError (the chunk is sent again)."""
    for attempt in range(600):
        job = client.import_job(job_id)
        if job.get("status") == "complete":
            return job
        if job.get("status") == "cancelled":
            raise clients.RetryableError("Klaviyo cancelled an import job")
        time.sleep(POLL_WAITS[min(attempt, len(POLL_WAITS) - 1)])
    raise clients.RetryableError("a Klaviyo import job did not complete in time")
