"""A stateful Klaviyo API sandbox: the parts an audience sync uses (tests/fixtures/audiences/klaviyo/).

* ``Authorization: Klaviyo-API-Key <key>`` and a ``revision`` header on every request (400 without one).
* ``POST /api/profile-bulk-import-jobs``: at most 10,000 profiles and 5 MB, the list as relationship; 202 with a
  ``queued`` job that becomes ``processing`` then ``complete`` (``job_seconds`` later); invalid rows become
  ``import-errors`` with their original payload. Importing never changes a profile's consent.
* ``GET .../{id}``, ``.../{id}/import-errors``, ``.../{id}/profiles`` (cursor pages of at most 100).
* ``DELETE /api/lists/{id}/relationships/profiles``: at most 1,000 profile ids; never touches consent.
* ``POST /api/profile-subscription-bulk-create-jobs``: at most 1,000 profiles, each with an email and
  ``subscriptions.email.marketing.consent: SUBSCRIBED``; 202. Profiles are subscribed (created if missing), added to
  the list in the relationship, and lose their suppression, as Klaviyo's do.
* ``GET /api/profiles`` with the suppression-timestamp filter and ``additional-fields[profile]=subscriptions``.
* Burst and steady limits per endpoint family, ``RateLimit-Limit/Remaining/Reset`` on answers, 429 with
  ``Retry-After``; JSON:API error bodies (``errors[]`` with id, status, code, title, detail).

Sandbox-only: ``/sandbox/profiles`` (state), ``/sandbox/profiles/<email>/suppress``, ``/sandbox/requests``,
``/sandbox/faults``.
"""
import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode

from flask import Flask, jsonify, request

from audiences_sandbox.limits import Limits, add_sandbox_routes

MAX_PROFILES = 10_000
MAX_BYTES = 5 * 1024 * 1024
MAX_REMOVE = 1_000
MAX_SUBSCRIBE = 1_000
MAX_PAGE = 100
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_SUPPRESSED_SINCE = re.compile(r"^greater-than\(subscriptions\.email\.marketing\.suppression\.timestamp,(.+)\)$")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def error(status: int, code: str, detail: str, headers: dict | None = None):
    response = jsonify({"errors": [{"id": str(uuid.uuid4()), "status": status, "code": code,
                                    "title": detail.split(".")[0], "detail": detail, "source": {}}]})
    response.status_code = status
    response.mimetype = "application/vnd.api+json"
    response.headers.update(headers or {})
    return response


class KlaviyoState:
    def __init__(self, api_key: str, list_id: str, job_seconds: float):
        self.api_key, self.list_id, self.job_seconds = api_key, list_id, job_seconds
        self.lock = threading.Lock()
        self.profiles: dict[str, dict] = {}  # profile id -> {email, external_id, attributes, suppressed_at}
        self.by_email: dict[str, str] = {}
        self.list_members: set[str] = set()
        self.jobs: dict[str, dict] = {}
        self.requests: list[tuple[str, str, int]] = []

    def credentials(self, base_url: str) -> dict:
        return {"kind": "klaviyo", "base_url": base_url, "api_key": self.api_key, "list_id": self.list_id}


def create_klaviyo_app(*, api_key: str | None = None, list_id: str = "Xy12Ab", job_seconds: float = 0.3,
                       limits: Limits | None = None) -> Flask:
    app = Flask("audiences_sandbox.klaviyo")
    state = KlaviyoState(api_key or f"pk_{uuid.uuid4().hex}", list_id, job_seconds)
    limits = limits or Limits(windows=((10, 1.0), (150, 60.0)))
    app.extensions["klaviyo_sandbox"] = state
    app.extensions["klaviyo_limits"] = limits

    @app.before_request
    def gate():
        if request.path.startswith("/sandbox/"):
            return None
        if request.headers.get("Authorization") != f"Klaviyo-API-Key {state.api_key}":
            return error(401, "not_authenticated", "Missing or invalid private key.")
        if not request.headers.get("revision"):
            return error(400, "invalid", "A revision header is required.")
        bucket = "profiles" if request.path == "/api/profiles" else "default"
        wait = limits.admit(state.api_key, bucket)
        if wait is not None:
            return error(429, "throttled", f"Request was throttled. Expected available in {max(1, round(wait))} "
                                           "seconds.", {"Retry-After": str(max(1, round(wait)))})
        return None

    @app.after_request
    def headers(response):
        if not request.path.startswith("/sandbox/"):
            bucket = "profiles" if request.path == "/api/profiles" else "default"
            window = limits.remaining(state.api_key, bucket)
            if window is not None:
                response.headers["RateLimit-Limit"] = str(window[0])
                response.headers["RateLimit-Remaining"] = str(window[1])
                response.headers["RateLimit-Reset"] = str(max(0, round(window[2])))
            with state.lock:
                state.requests.append((request.method, request.path, response.status_code))
        return response

    @app.get("/api/lists/<list_id>")
    def get_list(list_id):
        if list_id != state.list_id:
            return error(404, "not_found", "A list with id " + list_id + " does not exist.")
        return jsonify({"data": {"type": "list", "id": list_id, "attributes": {"name": "Sandbox list"}}})

    @app.post("/api/profile-bulk-import-jobs")
    def create_job():
        raw = request.get_data()
        if len(raw) > MAX_BYTES:
            return error(413, "invalid", "The maximum allowed payload size is 5MB.")
        try:
            data = json.loads(raw)["data"]
            profiles = data["attributes"]["profiles"]["data"]
            lists = [item["id"] for item in (data.get("relationships") or {}).get("lists", {}).get("data", [])]
        except (ValueError, KeyError, TypeError):
            return error(400, "invalid", "The request body is not a profile-bulk-import-job.")
        if len(profiles) > MAX_PROFILES:
            return error(400, "invalid", f"Accepts up to {MAX_PROFILES} profiles per request.")
        if any(item != state.list_id for item in lists):
            return error(404, "not_found", "A list in the relationships does not exist.")
        job_id = uuid.uuid4().hex
        with state.lock:
            state.jobs[job_id] = {"created": time.time(), "profiles": profiles, "lists": lists, "done": False,
                                  "errors": [], "profile_ids": []}
        return jsonify({"data": _job_body(state, job_id)}), 202

    @app.get("/api/profile-bulk-import-jobs/<job_id>")
    def get_job(job_id):
        if job_id not in state.jobs:
            return error(404, "not_found", "The job does not exist.")
        return jsonify({"data": _job_body(state, job_id)})

    @app.get("/api/profile-bulk-import-jobs/<job_id>/import-errors")
    def job_errors(job_id):
        job = state.jobs.get(job_id)
        if job is None:
            return error(404, "not_found", "The job does not exist.")
        _job_body(state, job_id)
        rows = [{"type": "import-error", "id": f"{job_id}-{n}", "attributes": item}
                for n, item in enumerate(job["errors"])]
        return _page(rows)

    @app.get("/api/profile-bulk-import-jobs/<job_id>/profiles")
    def job_profiles(job_id):
        job = state.jobs.get(job_id)
        if job is None:
            return error(404, "not_found", "The job does not exist.")
        _job_body(state, job_id)
        rows = [{"type": "profile", "id": pid, "attributes": {"external_id": state.profiles[pid]["external_id"],
                                                              "email": state.profiles[pid]["email"]}}
                for pid in job["profile_ids"]]
        return _page(rows)

    @app.delete("/api/lists/<list_id>/relationships/profiles")
    def remove_profiles(list_id):
        if list_id != state.list_id:
            return error(404, "not_found", "A list with id " + list_id + " does not exist.")
        items = (request.get_json(silent=True) or {}).get("data") or []
        if len(items) > MAX_REMOVE:
            return error(400, "invalid", f"This endpoint accepts a maximum of {MAX_REMOVE} profiles per call.")
        with state.lock:
            for item in items:
                state.list_members.discard(item.get("id"))
        return "", 204

    @app.post("/api/profile-subscription-bulk-create-jobs")
    def subscribe_profiles():
        try:
            data = json.loads(request.get_data())["data"]
            assert data["type"] == "profile-subscription-bulk-create-job"
            profiles = data["attributes"]["profiles"]["data"]
            emails = [str(item["attributes"]["email"]).strip().lower() for item in profiles]
            consents = {item["attributes"]["subscriptions"]["email"]["marketing"]["consent"] for item in profiles}
            list_id = ((data.get("relationships") or {}).get("list") or {}).get("data", {}).get("id")
        except (ValueError, KeyError, TypeError, AssertionError):
            return error(400, "invalid", "The request body is not a profile-subscription-bulk-create-job.")
        if len(profiles) > MAX_SUBSCRIBE:
            return error(400, "invalid", f"Accepts up to {MAX_SUBSCRIBE} profiles per request.")
        if consents - {"SUBSCRIBED"} or not all(_EMAIL.match(email) for email in emails):
            return error(400, "invalid", "Each profile needs a valid email and consent SUBSCRIBED.")
        if list_id is not None and list_id != state.list_id:
            return error(404, "not_found", "A list with id " + list_id + " does not exist.")
        with state.lock:
            for email in emails:
                pid = _profile_for(state, email, None)
                state.profiles[pid].update(subscribed_at=_now(), suppressed_at=None)
                if list_id is not None:
                    state.list_members.add(pid)
        return "", 202

    @app.get("/api/profiles")
    def profiles():
        match = _SUPPRESSED_SINCE.match(request.args.get("filter", ""))
        if match is None:
            return error(400, "invalid", "This sandbox filters profiles by suppression timestamp only.")
        since = match.group(1)
        with state.lock:
            rows = [{"type": "profile", "id": pid, "attributes": {
                "email": p["email"], "subscriptions": {"email": {"marketing": {
                    "suppression": [{"reason": "USER_SUPPRESSED", "timestamp": p["suppressed_at"]}]}}}}}
                for pid, p in state.profiles.items() if p.get("suppressed_at") and p["suppressed_at"] > since]
        return _page(rows)

    # --- sandbox-only ------------------------------------------------------------------------------------------

    @app.get("/sandbox/profiles")
    def sandbox_profiles():
        with state.lock:
            return jsonify([{"id": pid, **p, "in_list": pid in state.list_members} for pid, p in state.profiles.items()])

    @app.post("/sandbox/profiles/<email>/suppress")
    def sandbox_suppress(email):
        with state.lock:
            pid = state.by_email.get(email.lower())
            if pid is None:
                return error(404, "not_found", "no such profile")
            state.profiles[pid]["suppressed_at"] = _now()
        return jsonify({"id": pid})

    add_sandbox_routes(app, state, limits)
    return app


def _job_body(state: KlaviyoState, job_id: str) -> dict:
    """The job as Klaviyo shows it; it is processed once ``job_seconds`` have passed since it was created."""
    with state.lock:
        job = state.jobs[job_id]
        age = time.time() - job["created"]
        if not job["done"] and age >= state.job_seconds:
            _process(state, job)
        status = "complete" if job["done"] else "processing" if age >= state.job_seconds / 2 else "queued"
        total = len(job["profiles"])
        return {"type": "profile-bulk-import-job", "id": job_id,
                "links": {"self": f"{request.url_root}api/profile-bulk-import-jobs/{job_id}"}, "attributes": {
            "status": status, "total_count": total,
            "completed_count": total - len(job["errors"]) if job["done"] else 0,
            "failed_count": len(job["errors"]) if job["done"] else 0,
            "created_at": datetime.fromtimestamp(job["created"], timezone.utc).isoformat(),
            "completed_at": _now() if job["done"] else None}}


def _process(state: KlaviyoState, job: dict) -> None:
    for item in job["profiles"]:
        attributes = (item or {}).get("attributes") or {}
        email = str(attributes.get("email") or "").strip().lower()
        if not _EMAIL.match(email) or email.endswith(".invalid"):
            job["errors"].append({"code": "invalid", "title": "Invalid input.",
                                  "detail": f"Invalid email address: {email}", "source": {"pointer": "/email"},
                                  "original_payload": attributes})
            continue
        pid = _profile_for(state, email, attributes.get("external_id"))
        profile = state.profiles[pid]
        profile["attributes"].update({k: v for k, v in attributes.items() if k not in ("email", "properties")})
        profile["attributes"].setdefault("properties", {}).update(attributes.get("properties") or {})
        profile["external_id"] = attributes.get("external_id") or profile["external_id"]
        job["profile_ids"].append(pid)
        if job["lists"]:
            state.list_members.add(pid)
    job["done"] = True


def _profile_for(state: KlaviyoState, email: str, external: str | None) -> str:
    """The id of the profile with this email, created (unsubscribed, unsuppressed) if there is none."""
    pid = state.by_email.get(email)
    if pid is None:
        pid = state.by_email[email] = "01" + uuid.uuid4().hex[:24].upper()
        state.profiles[pid] = {"email": email, "external_id": external, "attributes": {}, "suppressed_at": None,
                               "subscribed_at": None}
    return pid


def _page(rows: list[dict]):
    try:
        size = int(request.args.get("page[size]", 20))
    except ValueError:
        return error(400, "invalid", "page[size] must be a whole number.")
    if not 1 <= size <= MAX_PAGE:
        return error(400, "invalid", f"page[size] must be between 1 and {MAX_PAGE}.")
    try:
        start = int(request.args.get("page[cursor]") or 0)
    except ValueError:
        return error(400, "invalid", "Invalid page cursor.")
    chunk = rows[start:start + size]
    links = {"self": request.url}
    if start + size < len(rows):
        args = request.args.to_dict()
        args["page[cursor]"] = str(start + size)
        links["next"] = request.base_url + "?" + urlencode(args)
    return jsonify({"data": chunk, "links": links})
