"""Errors raised by the Toast client and payload model.

The hierarchy tells the caller what to do, not what went wrong on the wire:

* ``AuthError``: credentials or access are gone; never retried, the UI shows "reconnect".
* ``RetryableAPIError``: try again later (429, 5xx, timeouts); ``retry_after`` says when, if Toast said.
* ``FatalAPIError``: the request itself is wrong (other 4xx); retrying will not help.
* ``TokenBudgetExceeded``: our own guard refused a token request (Toast allows 2 per hour).
* ``PayloadError``: Toast sent a body that does not fit the model.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any


class ToastError(Exception):
    """Base class of every error raised by ``portal.toast``."""


class AuthError(ToastError):
    """Toast refused our credentials or access (401 after a refresh, 403, or a rejected login).

    ``reason`` is a human sentence the UI can show next to its "reconnect" button.
    """

    def __init__(self, reason: str, *, status: int | None = None, request_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.request_id = request_id


class RetryableAPIError(ToastError):
    """A transient failure: 429, 5xx, timeout or connection error.

    ``retry_after`` is in seconds when Toast said how long to wait (``Retry-After``), else None.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id


class FatalAPIError(ToastError):
    """A 4xx (other than 401/403/429) or a protocol problem; retrying the same request will not help.

    Keeps Toast's ``ErrorMessage``: its ``message`` (falls back to our summary), ``request_id``, and
    the whole parsed body in ``error``; ``str(exc)`` adds the method, path and status.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        error: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.error = error or {}
        self.message = self.error.get("message") or message
        self.status = status
        self.request_id = request_id


class PaginationError(FatalAPIError):
    """Toast's paging went wrong: a repeated page or token, or too many 409 restarts (never loop)."""


class TokenBudgetExceeded(ToastError):
    """Our guard refused to request another token: Toast allows at most 2 token requests per hour.

    ``allowed_at`` is the wall-clock epoch second from which a request will be allowed again and
    ``retry_after`` the seconds until then.
    """

    def __init__(self, reason: str, *, allowed_at: float, now: float, recent: int, limit: int):
        self.reason = reason
        self.allowed_at = allowed_at
        self.retry_after = max(0.0, allowed_at - now)
        when = datetime.fromtimestamp(allowed_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        super().__init__(
            f"refusing to request a Toast token ({reason}): {recent} token requests in the last hour "
            f"already reach the limit of {limit}; next allowed at {when} (in {self.retry_after:.0f} s)"
        )


class PayloadError(ToastError, ValueError):
    """A Toast body did not fit the model: names the field path and, for orders, the order GUID.

    Example message: ``order 017f...: checks[0].amount: expected a number, got 'abc'``.
    """

    def __init__(self, message: str, *, path: str = "", order_guid: str | None = None):
        super().__init__(message)
        self.path = path
        self.order_guid = order_guid


def _error_body(response: Any) -> dict[str, Any]:
    """Toast's ``ErrorMessage`` from a response, or {} when the body is not a JSON object."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def error_from_response(response: Any, *, now: float) -> ToastError:
    """Classify a failed ``httpx.Response`` (status >= 400) into the error the caller should see.

    401/403 -> AuthError, 429/5xx -> RetryableAPIError (with Retry-After), other -> FatalAPIError.
    The client handles the one-refresh-on-401 rule before calling this.
    """
    status = response.status_code
    body = _error_body(response)
    request_id = body.get("requestId") or response.headers.get("Toast-Request-Id")
    toast_message = body.get("message") or body.get("developerMessage") or response.reason_phrase
    where = f"{response.request.method} {response.request.url.path}"
    if status == 401:
        return AuthError(
            f"Toast no longer accepts this integration's credentials (HTTP 401: {toast_message}); "
            "reconnect the Toast integration.",
            status=status,
            request_id=request_id,
        )
    if status == 403:
        return AuthError(
            f"Toast refused access (HTTP 403: {toast_message}); the restaurant may have revoked access "
            "or the API client lacks a scope. Reconnect the Toast integration.",
            status=status,
            request_id=request_id,
        )
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return RetryableAPIError(
            f"{where}: HTTP {status}: {toast_message}",
            status=status,
            retry_after=retry_after,
            request_id=request_id,
        )
    return FatalAPIError(
        f"{where}: HTTP {status}: {toast_message}", status=status, request_id=request_id, error=body
    )
