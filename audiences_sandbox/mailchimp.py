"""A stateful Mailchimp Marketing API v3 sandbox: the parts an audience sync uses, as the spec and docs describe them
(tests/fixtures/audiences/mailchimp/).

* Basic auth with any user name and the API key, whose ``-usNN`` suffix names the data center (a key for another
  data center is refused); at most 10 simultaneous connections per key (429 beyond).
* ``POST /3.0/lists/{id}``: batch subscribe, at most 500 members, ``update_existing``; per-member ``errors[]``
  (invalid addresses, an existing member without ``update_existing``, and the compliance rule: an unsubscribed or
  cleaned member is never made ``subscribed`` again by the API).
* ``POST /3.0/lists/{id}/segments`` creates a static segment (a tag); ``POST /3.0/lists/{id}/segments/{seg}``
  takes ``members_to_add`` / ``members_to_remove``, at most 500 each.
* ``GET`` / ``PATCH /3.0/lists/{id}/members/{hash}`` (one member; a PATCH changes only what its body names) and
* ``DELETE /3.0/lists/{id}/segments/{seg}/members/{hash}`` (untag one member) and
  ``POST /3.0/lists/{id}/members/{hash}/actions/delete-permanent`` (erase one).
* Merge fields (``GET``/``POST /3.0/lists/{id}/merge-fields``), list webhooks (``POST /3.0/lists/{id}/webhooks``,
  sent form-encoded as Mailchimp does when a member unsubscribes, is cleaned or subscribes).
* Errors are ``application/problem+json`` (type, title, status, detail, instance).

Sandbox-only routes under ``/sandbox/``: the members of a list, a member changing its status (with its webhook), the
request log, and 429s to inject.
"""
import base64
import hashlib
import itertools
import json
import re
import threading
import uuid

import httpx
from flask import Flask, jsonify, request

from audiences_sandbox.limits import Limits, add_sandbox_routes

MAX_BATCH = 500
DATA_CENTER = "us19"
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
# A status change made in Mailchimp -> the list webhook event it sends.
STATUS_EVENTS = {"unsubscribed": "unsubscribe", "cleaned": "cleaned", "subscribed": "subscribe"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


class MailchimpState:
    def __init__(self, api_key: str, list_id: str):
        self.api_key, self.list_id = api_key, list_id
        self.lock = threading.Lock()
        self.members: dict[str, dict] = {}  # subscriber hash -> member
        self.merge_fields: dict[str, dict] = {}
        self.segments: dict[str, dict] = {}  # id -> {name, members: set of hashes}
        self.webhooks: list[dict] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self._ids = itertools.count(1)

    def credentials(self, base_url: str) -> dict:
        return {"kind": "mailchimp", "base_url": base_url, "api_key": self.api_key, "list_id": self.list_id}

    def save(self, path: str) -> None:
        """The audience as JSON (``make run`` keeps it across restarts, as Mailchimp would)."""
        with self.lock:
            data = {"members": self.members, "merge_fields": self.merge_fields, "webhooks": self.webhooks,
                    "segments": {k: {"name": v["name"], "members": sorted(v["members"])}
                                 for k, v in self.segments.items()}}
        with open(path, "w") as out:
            json.dump(data, out)

    def load(self, path: str) -> None:
        with open(path) as source:
            data = json.load(source)
        with self.lock:
            self.members, self.merge_fields, self.webhooks = data["members"], data["merge_fields"], data["webhooks"]
            self.segments = {k: {"name": v["name"], "members": set(v["members"])} for k, v in data["segments"].items()}
            taken = [int(k) for k in self.segments] + [f["merge_id"] for f in self.merge_fields.values()]
            self._ids = itertools.count(max(taken, default=0) + 1)


def problem(status: int, title: str, detail: str, headers: dict | None = None):
    body = {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title, "status": status,
            "detail": detail, "instance": str(uuid.uuid4())}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    response.headers.update(headers or {})
    return response


def create_mailchimp_app(*, api_key: str | None = None, list_id: str = "a1b2c3d4e5",
                         limits: Limits | None = None) -> Flask:
    app = Flask("audiences_sandbox.mailchimp")
    state = MailchimpState(api_key or f"{uuid.uuid4().hex}-{DATA_CENTER}", list_id)
    limits = limits or Limits(concurrent=10)
    app.extensions["mailchimp_sandbox"] = state
    app.extensions["mailchimp_limits"] = limits

    def authorized() -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            _, _, key = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return key == state.api_key

    @app.before_request
    def gate():
        if request.path.startswith("/sandbox/"):
            return None
        if not authorized():
            return problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access "
                                                   "the wrong datacenter.")
        wait = limits.admit(state.api_key)
        if wait is not None:
            return problem(429, "Too Many Requests", "You have exceeded the request rate of this sandbox.",
                           {"Retry-After": str(max(1, round(wait)))})
        return None

    @app.after_request
    def log(response):
        if not request.path.startswith("/sandbox/"):
            with state.lock:
                state.requests.append((request.method, request.path, response.status_code))
        return response

    def guarded(view):
        """Hold one of the key's 10 simultaneous connections for the whole request."""
        def wrapper(*args, **kwargs):
            with limits.connection(state.api_key) as admitted:
                if not admitted:
                    return problem(429, "Too Many Requests",
                                   "You have exceeded the limit of 10 simultaneous connections.")
                return view(*args, **kwargs)
        wrapper.__name__ = view.__name__
        return wrapper

    def known_list(list_id: str):
        if list_id != state.list_id:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        return None

    @app.get("/3.0/ping")
    @guarded
    def ping():
        return jsonify({"health_status": "Everything's Chimpy!"})

    @app.get("/3.0/lists/<list_id>")
    @guarded
    def get_list(list_id):
        if (missing := known_list(list_id)) is not None:
            return missing
        with state.lock:
            count = sum(1 for m in state.members.values() if m["status"] == "subscribed")
        return jsonify({"id": list_id, "name": "Sandbox audience", "stats": {"member_count": count}})

    @app.get("/3.0/lists/<list_id>/merge-fields")
    @guarded
    def merge_fields(list_id):
        if (missing := known_list(list_id)) is not None:
            return missing
        with state.lock:
            fields = list(state.merge_fields.values())
        return jsonify({"merge_fields": fields, "list_id": list_id, "total_items": len(fields)})

    @app.post("/3.0/lists/<list_id>/merge-fields")
    @guarded
    def add_merge_field(list_id):
        if (missing := known_list(list_id)) is not None:
            return missing
        body = request.get_json(silent=True) or {}
        tag, name, kind = body.get("tag"), body.get("name"), body.get("type")
        if not (isinstance(tag, str) and re.fullmatch(r"[A-Z0-9_]{1,10}", tag) and name and kind):
            return problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        with state.lock:
            if tag in state.merge_fields:
                return problem(400, "Invalid Resource", f"A Merge Field with the tag \"{tag}\" already exists.")
            field = {"merge_id": next(state._ids), "tag": tag, "name": name, "type": kind, "list_id": list_id}
            state.merge_fields[tag] = field
        return jsonify(field)

    @app.post("/3.0/lists/<list_id>/segments")
    @guarded
    def add_segment(list_id):
        if (missing := known_list(list_id)) is not None:
            return missing
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            return problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        with state.lock:
            segment_id = str(next(state._ids))
            state.segments[segment_id] = {"name": body["name"], "members": set()}
        return jsonify({"id": int(segment_id), "name": body["name"], "type": "static", "member_count": 0,
                        "list_id": list_id})

    @app.post("/3.0/lists/<list_id>")
    @guarded
    def batch_subscribe(list_id):
        if (missing := known_list(list_id)) is not None:
            return missing
        body = request.get_json(silent=True) or {}
        members = body.get("members")
        if not isinstance(members, list):
            return problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        if len(members) > MAX_BATCH:
            return problem(400, "Invalid Resource", f"Up to {MAX_BATCH} members may be added or updated with each "
                                                    "API call.")
        update_existing = bool(body.get("update_existing"))
        created, updated, errors = [], [], []
        with state.lock:
            for item in members:
                outcome = _apply_member(state, item, update_existing)
                (errors if "error" in outcome else created if outcome.pop("_new") else updated).append(outcome)
        return jsonify({"new_members": created, "updated_members": updated, "errors": errors,
                        "total_created": len(created), "total_updated": len(updated), "error_count": len(errors)})

    @app.post("/3.0/lists/<list_id>/segments/<segment_id>")
    @guarded
    def segment_members(list_id, segment_id):
        if (missing := known_list(list_id)) is not None:
            return missing
        body = request.get_json(silent=True) or {}
        adds, removes = body.get("members_to_add") or [], body.get("members_to_remove") or []
        if len(adds) > MAX_BATCH or len(removes) > MAX_BATCH:
            return problem(400, "Invalid Resource", f"At most {MAX_BATCH} members may be added and {MAX_BATCH} "
                                                    "removed with each call.")
        with state.lock:
            segment = state.segments.get(segment_id)
            if segment is None:
                return problem(404, "Resource Not Found", "The requested resource could not be found.")
            added, removed, strangers = [], [], []
            for email in adds:
                key = subscriber_hash(email)
                if key not in state.members:
                    strangers.append(email)
                elif key not in segment["members"]:
                    segment["members"].add(key)
                    added.append({"email_address": email, "id": key})
            for email in removes:
                key = subscriber_hash(email)
                if key in segment["members"]:
                    segment["members"].discard(key)
                    removed.append({"email_address": email, "id": key})
        errors = [{"email_addresses": strangers, "error": "Email addresses do not belong to list"}] if strangers else []
        return jsonify({"members_added": added, "members_removed": removed, "errors": errors,
                        "total_added": len(added), "total_removed": len(removed), "error_count": len(strangers)})

    @app.delete("/3.0/lists/<list_id>/segments/<segment_id>/members/<key>")
    @guarded
    def segment_member_delete(list_id, segment_id, key):
        if (missing := known_list(list_id)) is not None:
            return missing
        with state.lock:
            segment = state.segments.get(segment_id)
            if segment is None or key not in segment["members"]:
                return problem(404, "Resource Not Found", "The requested resource could not be found.")
            segment["members"].discard(key)
        return "", 204

    @app.get("/3.0/lists/<list_id>/members/<key>")
    @guarded
    def get_member(list_id, key):
        if (missing := known_list(list_id)) is not None:
            return missing
        with state.lock:
            member = state.members.get(key)
            if member is None:
                return problem(404, "Resource Not Found", "The requested resource could not be found.")
            return jsonify(member)

    @app.patch("/3.0/lists/<list_id>/members/<key>")
    @guarded
    def update_member(list_id, key):
        """Only what the body names changes: merge fields without ``status`` leave the subscription alone."""
        if (missing := known_list(list_id)) is not None:
            return missing
        body = request.get_json(silent=True) or {}
        merge_fields = body.get("merge_fields") or {}
        with state.lock:
            member = state.members.get(key)
            if member is None:
                return problem(404, "Resource Not Found", "The requested resource could not be found.")
            if not isinstance(merge_fields, dict) or set(merge_fields) - set(state.merge_fields):
                return problem(400, "Invalid Resource", "Your merge fields were invalid.")
            if "status" in body:
                if body["status"] not in STATUSES or (
                        member["status"] in ("unsubscribed", "cleaned") and body["status"] == "subscribed"):
                    return problem(400, "Member In Compliance State", "The member cannot be given this status.")
                member["status"] = body["status"]
            member["merge_fields"].update(merge_fields)
            return jsonify(member)

    @app.post("/3.0/lists/<list_id>/members/<key>/actions/delete-permanent")
    @guarded
    def delete_permanent(list_id, key):
        """Erase the member for good (its history too); it cannot be re-imported through the API."""
        if (missing := known_list(list_id)) is not None:
            return missing
        with state.lock:
            if state.members.pop(key, None) is None:
                return problem(404, "Resource Not Found", "The requested resource could not be found.")
            for segment in state.segments.values():
                segment["members"].discard(key)
        return "", 204

    @app.post("/3.0/lists/<list_id>/webhooks")
    @guarded
    def add_webhook(list_id):
        if (missing := known_list(list_id)) is not None:
            return missing
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("url"), str) or not body["url"].startswith(("http://", "https://")):
            return problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        with state.lock:
            hook = {"id": uuid.uuid4().hex[:10], "url": body["url"], "events": body.get("events") or {},
                    "list_id": list_id}
            state.webhooks = [h for h in state.webhooks if h["url"] != hook["url"]] + [hook]
        return jsonify(hook)

    # --- sandbox-only ------------------------------------------------------------------------------------------

    @app.get("/sandbox/members")
    def sandbox_members():
        with state.lock:
            tags = {key: [s["name"] for s in state.segments.values() if key in s["members"]] for key in state.members}
            return jsonify([{**m, "tags": tags[key]} for key, m in state.members.items()])

    @app.post("/sandbox/members/<key>/status")
    def sandbox_status(key):
        """The member unsubscribes, bounces ("cleaned") or subscribes (a signup form) in Mailchimp; the list
        webhooks registered for that event are told."""
        status = (request.get_json(silent=True) or {}).get("status")
        event = STATUS_EVENTS.get(status)
        with state.lock:
            member = state.members.get(key)
            if member is None or event is None:
                return problem(400, "Invalid Resource", "unknown member or status")
            member["status"] = status
            hooks = [h for h in state.webhooks if (h["events"] or {}).get(event, event != "subscribe")]
        delivered = [_send_webhook(h["url"], event, member, state.list_id) for h in hooks]
        return jsonify({"status": status, "webhooks": delivered})

    add_sandbox_routes(app, state, limits)
    return app


def _apply_member(state: MailchimpState, item: dict, update_existing: bool) -> dict:
    """One member of a batch subscribe, as Mailchimp treats it; an ``error`` entry when refused."""
    email = item.get("email_address") if isinstance(item, dict) else None
    status = item.get("status") if isinstance(item, dict) else None
    if not isinstance(email, str) or not _EMAIL.match(email.strip()) or email.strip().lower().endswith(".invalid"):
        return {"email_address": email, "error": f"{email} looks fake or invalid, please enter a real email address.",
                "error_code": "ERROR_GENERIC"}
    if status not in STATUSES:
        return {"email_address": email, "error": "Invalid status.", "error_code": "ERROR_GENERIC"}
    unknown = set(item.get("merge_fields") or {}) - set(state.merge_fields)
    if unknown:
        return {"email_address": email, "error": f"Your merge fields were invalid: {sorted(unknown)[0]}",
                "error_code": "ERROR_GENERIC"}
    key = subscriber_hash(email)
    member = state.members.get(key)
    if member is not None and not update_existing:
        return {"email_address": email, "error": f"{email} is already a list member. Use PUT to insert or update "
                                                 "list members.", "error_code": "ERROR_CONTACT_EXISTS"}
    if member is not None and member["status"] in ("unsubscribed", "cleaned") and status == "subscribed":
        return {"email_address": email, "error": f"{email} is in a compliance state due to unsubscribe, bounce, or "
                                                 "compliance review and cannot be subscribed.",
                "error_code": "ERROR_GENERIC"}
    new = member is None
    if new:
        member = state.members[key] = {"id": key, "email_address": email.strip().lower(), "status": status,
                                       "merge_fields": {}}
    else:
        member["status"] = status
    member["merge_fields"].update(item.get("merge_fields") or {})
    return {"id": key, "email_address": member["email_address"], "status": member["status"], "_new": new}


def _send_webhook(url: str, event: str, member: dict, list_id: str) -> int | None:
    """Mailchimp posts list webhooks as a form: type, fired_at and data[...] fields."""
    form = {"type": event, "fired_at": "2026-01-01 00:00:00", "data[id]": member["id"], "data[list_id]": list_id,
            "data[email]": member["email_address"], "data[reason]": "manual" if event == "cleaned" else ""}
    try:
        return httpx.post(url, data=form, timeout=10).status_code
    except httpx.HTTPError:
        return None
