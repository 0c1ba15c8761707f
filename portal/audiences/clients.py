"""HTTP clients of the destinations: Mailchimp Marketing API v3 and Klaviyo (facts in tests/fixtures/audiences/).

Every request waits for its slot in the account's shared pacer (``portal.audiences.pacing``), honours 429
``Retry-After`` for every process, retries 429/5xx/timeouts with exponential backoff and then raises
``RetryableError``; 401/403 raise ``AuthError`` (the destination shows "reconnect"), other 4xx ``FatalError``.
Each client counts its calls (``calls``, ``write_calls``) for the run history. Nothing here logs guest data.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import httpx

from portal.audiences.pacing import AccountPacer, Limits
from portal.toast.errors import parse_retry_after

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
ATTEMPTS = 6
BACKOFF = (0.5, 1, 2, 4, 8)
KLAVIYO_REVISION = "2026-07-15"

MAILCHIMP_BATCH = 500  # members per batch subscribe; members_to_add / members_to_remove per segment call
KLAVIYO_IMPORT_MAX = 10_000  # profiles per bulk import job
KLAVIYO_IMPORT_BYTES = 5 * 1024 * 1024
KLAVIYO_REMOVE_MAX = 1_000  # profile ids per DELETE /api/lists/{id}/relationships/profiles
KLAVIYO_SUBSCRIBE_MAX = 1_000  # profiles per bulk subscribe job
KLAVIYO_PAGE = 100  # page[size] maximum

# Mailchimp publishes no request rate, only 10 simultaneous connections per key. Klaviyo: burst and steady per
# endpoint (x-klaviyo-ratelimit in its OpenAPI): the bulk import family and list relationships 10/s, 150/m.
MAILCHIMP_LIMITS = Limits(windows={}, concurrency=10)
KLAVIYO_LIMITS = Limits(windows={"default": ((10, 1.0), (150, 60.0)), "profiles": ((75, 1.0), (750, 60.0))})


class DestinationError(Exception):
    """A request failed; ``reason`` is safe to show (no guest data)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RetryableError(DestinationError):
    """429, 5xx or the network after every retry: the run fails transiently and resumes from its checkpoint."""


class AuthError(DestinationError):
    """The key was refused (401/403): nothing is sent until an owner reconnects."""


class FatalError(DestinationError):
    """Any other refusal (a missing list, a malformed request): retrying would fail the same way."""


def mailchimp_subscriber_hash(email: str) -> str:
    """Mailchimp names a member by the MD5 of its lower-cased email address."""
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def mailchimp_data_center(api_key: str) -> str | None:
    """The ``usNN`` suffix of a Mailchimp key, which names the data center serving the account."""
    _, dash, dc = api_key.rpartition("-")
    return dc if dash and dc.isalnum() and dc[:2].isalpha() and dc[2:].isdigit() else None


@dataclass
class Response:
    status: int
    body: dict | list | None
    headers: httpx.Headers


class BaseClient:
    kind = ""

    def __init__(self, base_url: str, api_key: str, pacer: AccountPacer, *, transport=None, sleep=time.sleep):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.pacer = pacer
        self.calls = 0
        self.write_calls = 0
        self._count_lock = threading.Lock()  # runs send several requests at once (runs.pipeline)
        self._sleep = sleep
        self._http = httpx.Client(timeout=TIMEOUT, transport=transport, headers=self._headers())

    def close(self) -> None:
        self._http.close()

    def _headers(self) -> dict:
        raise NotImplementedError

    def _error_reason(self, response: httpx.Response) -> str:
        raise NotImplementedError

    def request(self, method: str, path: str, *, json=None, params=None, bucket: str = "default") -> Response:
        """Send one request through the pacer with retries; the decoded answer, or a DestinationError."""
        problem = "no answer"
        for attempt in range(ATTEMPTS):
            with self.pacer.slot(bucket):
                with self._count_lock:
                    self.calls += 1
                    self.write_calls += method != "GET"
                try:
                    response = self._http.request(method, self.base_url + path, json=json, params=params)
                except httpx.TransportError as exc:
                    response, problem = None, f"{type(exc).__name__} talking to {self.kind}"
            if response is not None:
                if response.status_code < 400:
                    return Response(response.status_code, _json(response), response.headers)
                reason = self._error_reason(response)
                if response.status_code in (401, 403):
                    raise AuthError(f"{self.kind} refused the API key: {reason}")
                if response.status_code != 429 and response.status_code < 500:
                    raise FatalError(f"{self.kind} answered {response.status_code}: {reason}")
                problem = f"{self.kind} answered {response.status_code}: {reason}"
                wait = parse_retry_after(response.headers.get("Retry-After"), time.time())
                if wait is not None:
                    self.pacer.defer(wait)  # every process holds off, not only this one
                    continue
            if attempt < ATTEMPTS - 1:
                self._sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
        raise RetryableError(problem)


def _json(response: httpx.Response):
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


class MailchimpClient(BaseClient):
    kind = "Mailchimp"

    def _headers(self) -> dict:
        return {"Accept": "application/json"}

    def __init__(self, base_url: str, api_key: str, pacer: AccountPacer, **options):
        super().__init__(base_url, api_key, pacer, **options)
        self._http.auth = httpx.BasicAuth("tablecloth", api_key)

    def _error_reason(self, response: httpx.Response) -> str:
        body = _json(response)  # application/problem+json: type, title, status, detail, instance
        if isinstance(body, dict) and body.get("title"):
            return str(body["title"])[:200]
        return response.reason_phrase or "error"

    def check_list(self, list_id: str) -> str:
        """The list's name; AuthError / FatalError when the key or the list is wrong."""
        body = self.request("GET", f"/lists/{list_id}").body or {}
        return str(body.get("name") or list_id)

    def merge_field_tags(self, list_id: str) -> set[str]:
        body = self.request("GET", f"/lists/{list_id}/merge-fields", params={"count": 1000}).body or {}
        return {field["tag"] for field in body.get("merge_fields", [])}

    def create_merge_field(self, list_id: str, tag: str, name: str, kind: str) -> None:
        self.request("POST", f"/lists/{list_id}/merge-fields", json={"tag": tag, "name": name, "type": kind})

    def create_static_segment(self, list_id: str, name: str) -> str:
        body = self.request("POST", f"/lists/{list_id}/segments", json={"name": name, "static_segment": []}).body
        return str(body["id"])

    def batch_subscribe(self, list_id: str, members: list[dict], *, update_existing: bool) -> dict:
        """POST /lists/{id}: at most 500 members; the answer's new_members, updated_members and errors[]."""
        assert len(members) <= MAILCHIMP_BATCH
        return self.request("POST", f"/lists/{list_id}",
                            json={"members": members, "update_existing": update_existing}).body or {}

    def segment_members(self, list_id: str, segment_id: str, add: list[str], remove: list[str]) -> dict:
        """POST /lists/{id}/segments/{seg}: members_to_add / members_to_remove, at most 500 each."""
        assert len(add) <= MAILCHIMP_BATCH and len(remove) <= MAILCHIMP_BATCH
        return self.request("POST", f"/lists/{list_id}/segments/{segment_id}",
                            json={"members_to_add": add, "members_to_remove": remove}).body or {}

    def member_status(self, list_id: str, subscriber_hash: str) -> str:
        body = self.request("GET", f"/lists/{list_id}/members/{subscriber_hash}", params={"fields": "status"}).body
        return str((body or {}).get("status") or "unknown")

    def update_merge_fields(self, list_id: str, subscriber_hash: str, merge_fields: dict) -> None:
        """PATCH the member's merge fields only: without ``status`` in the body its subscription is left alone."""
        self.request("PATCH", f"/lists/{list_id}/members/{subscriber_hash}", json={"merge_fields": merge_fields})

    def add_webhook(self, list_id: str, url: str) -> None:
        self.request("POST", f"/lists/{list_id}/webhooks", json={
            "url": url, "events": {"unsubscribe": True, "cleaned": True, "subscribe": True},
            "sources": {"user": True, "admin": True, "api": False}})


class KlaviyoClient(BaseClient):
    kind = "Klaviyo"

    def _headers(self) -> dict:
        return {"Authorization": f"Klaviyo-API-Key {self.api_key}", "revision": KLAVIYO_REVISION,
                "Accept": "application/vnd.api+json", "Content-Type": "application/vnd.api+json"}

    def _error_reason(self, response: httpx.Response) -> str:
        body = _json(response)  # JSON:API: errors[] with id, code, title, detail
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors and isinstance(errors[0], dict):
            return str(errors[0].get("detail") or errors[0].get("title") or "error")[:200]
        return response.reason_phrase or "error"

    def check_list(self, list_id: str) -> str:
        body = self.request("GET", f"/api/lists/{list_id}").body or {}
        return str((body.get("data") or {}).get("attributes", {}).get("name") or list_id)

    def import_profiles(self, list_id: str, profiles: list[dict]) -> str:
        """POST /api/profile-bulk-import-jobs with the list as relationship; the job id."""
        assert len(profiles) <= KLAVIYO_IMPORT_MAX
        body = self.request("POST", "/api/profile-bulk-import-jobs", json={"data": {
            "type": "profile-bulk-import-job",
            "attributes": {"profiles": {"data": profiles}},
            "relationships": {"lists": {"data": [{"type": "list", "id": list_id}]}},
        }}).body
        return body["data"]["id"]

    def subscribe(self, list_id: str, emails: list[str]) -> None:
        """POST /api/profile-subscription-bulk-create-jobs: email marketing consent SUBSCRIBED, the list as
        relationship (with the list's own opt-in process: a double opt-in list asks the guest to confirm)."""
        assert len(emails) <= KLAVIYO_SUBSCRIBE_MAX
        self.request("POST", "/api/profile-subscription-bulk-create-jobs", json={"data": {
            "type": "profile-subscription-bulk-create-job",
            "attributes": {"profiles": {"data": [
                {"type": "profile", "attributes": {
                    "email": email, "subscriptions": {"email": {"marketing": {"consent": "SUBSCRIBED"}}}}}
                for email in emails]}},
            "relationships": {"list": {"data": {"type": "list", "id": list_id}}},
        }})

    def import_job(self, job_id: str) -> dict:
        return (self.request("GET", f"/api/profile-bulk-import-jobs/{job_id}").body or {})["data"]["attributes"]

    def _pages(self, path: str, params: dict):
        params = {**params, "page[size]": KLAVIYO_PAGE}
        while True:
            body = self.request("GET", path, params=params).body or {}
            yield from body.get("data", [])
            following = (body.get("links") or {}).get("next")
            if not following:
                return
            cursor = httpx.URL(following).params.get("page[cursor]")
            if not cursor or cursor == params.get("page[cursor]"):
                return
            params["page[cursor]"] = cursor

    def import_errors(self, job_id: str) -> list[dict]:
        return list(self._pages(f"/api/profile-bulk-import-jobs/{job_id}/import-errors", {}))

    def import_job_profiles(self, job_id: str) -> dict[str, str]:
        """external_id -> Klaviyo profile id of the job's profiles (100 a page, only the external id asked for)."""
        pages = self._pages(f"/api/profile-bulk-import-jobs/{job_id}/profiles", {"fields[profile]": "external_id"})
        return {item["attributes"].get("external_id"): item["id"] for item in pages}

    def remove_from_list(self, list_id: str, profile_ids: list[str]) -> None:
        assert len(profile_ids) <= KLAVIYO_REMOVE_MAX
        self.request("DELETE", f"/api/lists/{list_id}/relationships/profiles",
                     json={"data": [{"type": "profile", "id": pid} for pid in profile_ids]})

    def suppressed_since(self, since_iso: str) -> list[tuple[str, str]]:
        """(email, suppression timestamp) of profiles whose email marketing was suppressed after ``since_iso``."""
        rows = []
        for item in self._pages("/api/profiles", {
            "additional-fields[profile]": "subscriptions",
            "filter": f"greater-than(subscriptions.email.marketing.suppression.timestamp,{since_iso})",
        }):
            marketing = (((item.get("attributes") or {}).get("subscriptions") or {}).get("email") or {}).get(
                "marketing") or {}
            for suppression in marketing.get("suppression") or []:
                rows.append((item["attributes"].get("email") or "", suppression.get("timestamp") or ""))
        return rows
