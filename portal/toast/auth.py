"""Toast access tokens: parsing, caching across locations, and the 2-requests-per-hour guard.

Toast rules (developer guide, "Authentication" and "Token refresh"): one token serves every location;
it lives about a day; asking again during its life returns the same token, a new one only comes in
its last minute or after expiry; stop using it on a 401; never request more than 2 tokens per hour.

The HTTP call itself is injected (``login``) so this module holds only the caching rules.
"""
from __future__ import annotations

import base64
import binascii
import enum
import json
import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from portal.toast.errors import FatalAPIError, RetryableAPIError, TokenBudgetExceeded
from portal.toast.pacing import Clock, SystemClock

log = logging.getLogger(__name__)

PARTNER_CLAIM = "https://toasttab.com/partner_guid"
MANAGEMENT_GROUP_CLAIM = "https://toasttab.com/management_set_guid"
HOUR = 3600.0


class AccountKind(enum.StrEnum):
    PARTNER = "partner"
    MANAGEMENT_GROUP = "management_group"
    UNKNOWN = "unknown"


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The JWT payload as a dict, without checking the signature (it is our own bearer token).

    Returns {} when ``token`` is not a JWT: the token still works, we just know no scopes.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass(frozen=True)
class AccessToken:
    """One Toast bearer token; times are wall-clock epoch seconds so they survive a process."""

    access_token: str = field(repr=False)
    expires_at: float
    obtained_at: float
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_login_response(cls, body: Any, now: float) -> AccessToken:
        """Parse ``{"token": {"accessToken", "expiresIn"}}``; FatalAPIError when it is malformed."""
        token = body.get("token") if isinstance(body, dict) else None
        access = token.get("accessToken") if isinstance(token, dict) else None
        if not isinstance(access, str) or not access:
            raise FatalAPIError("Toast token response has no token.accessToken")
        claims = decode_jwt_claims(access)
        expires_in = token.get("expiresIn")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
            expires_at = now + float(expires_in)
        elif isinstance(claims.get("exp"), int | float):
            expires_at = float(claims["exp"])
        else:
            raise FatalAPIError("Toast token response has no usable token.expiresIn")
        return cls(access, expires_at, now, claims)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccessToken:
        """Inverse of ``to_dict`` (claims are decoded again from the JWT)."""
        access = data["access_token"]
        return cls(access, float(data["expires_at"]), float(data["obtained_at"]), decode_jwt_claims(access))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a persistent store (which must encrypt it: it is a credential)."""
        return {"access_token": self.access_token, "expires_at": self.expires_at, "obtained_at": self.obtained_at}

    @property
    def scopes(self) -> frozenset[str]:
        """Scopes from the JWT ``scope`` claim (the login response's own ``scope`` is always null)."""
        scope = self.claims.get("scope")
        return frozenset(scope.split()) if isinstance(scope, str) else frozenset()

    @property
    def partner_guid(self) -> str | None:
        return self.claims.get(PARTNER_CLAIM) or None

    @property
    def management_group_guid(self) -> str | None:
        return self.claims.get(MANAGEMENT_GROUP_CLAIM) or None

    @property
    def account_kind(self) -> AccountKind:
        if self.partner_guid:
            return AccountKind.PARTNER
        if self.management_group_guid:
            return AccountKind.MANAGEMENT_GROUP
        return AccountKind.UNKNOWN

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def due_for_refresh(self, now: float, margin: float) -> bool:
        """True in the token's last ``margin`` seconds (Toast only issues a new one then)."""
        return now >= self.expires_at - margin


@dataclass(frozen=True)
class TokenState:
    """What a TokenStore keeps per API client: the token and the times of recent token requests.

    Keeping the request times in the store lets the hourly guard hold across worker processes
    when the store is shared.
    """

    token: AccessToken | None = None
    requests: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token.to_dict() if self.token else None, "requests": list(self.requests)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenState:
        token = AccessToken.from_dict(data["token"]) if data.get("token") else None
        return cls(token, tuple(float(t) for t in data.get("requests", ())))


class TokenStore(Protocol):
    """Where token state lives; the default is in memory, the portal may persist it (encrypted)."""

    def get(self, key: str) -> TokenState | None: ...

    def set(self, key: str, state: TokenState) -> None: ...

    def lock(self, key: str) -> AbstractContextManager:
        """Held while a token is requested: other processes sharing the store wait, then reuse it."""
        ...


class MemoryTokenStore:
    """Process-local TokenStore."""

    def __init__(self) -> None:
        self._states: dict[str, TokenState] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> TokenState | None:
        with self._lock:
            return self._states.get(key)

    def set(self, key: str, state: TokenState) -> None:
        with self._lock:
            self._states[key] = state

    def lock(self, key: str) -> AbstractContextManager:
        return nullcontext()  # one process: TokenManager's own lock already serialises refreshes


class TokenManager:
    """Hands out the cached token and requests a new one only when needed and allowed.

    ``login`` performs the token request and returns the parsed JSON body (it raises AuthError,
    RetryableAPIError, ...). One lock serialises refreshes so threads never request two tokens.
    """

    def __init__(
        self,
        key: str,
        login: Callable[[], Any],
        *,
        clock: Clock | None = None,
        store: TokenStore | None = None,
        max_requests_per_hour: int = 2,
        refresh_margin: float = 60.0,
    ):
        self.key = key
        self._login = login
        self._clock = clock or SystemClock()
        self._store = store if store is not None else MemoryTokenStore()
        self._max = max_requests_per_hour
        self._margin = refresh_margin
        self._lock = threading.Lock()
        self._rejected = False

    def current(self) -> AccessToken:
        """A usable token: the cached one, or a new one when there is none, it was rejected, or it
        is in its last minute. Raises TokenBudgetExceeded (the guard), or the login's errors; when
        the refresh was only due to the last minute, a refused or failed refresh keeps the old token."""
        with self._lock:
            token = (self._store.get(self.key) or TokenState()).token
            if token is not None and not token.due_for_refresh(self._clock.time(), self._margin):
                return token
            with self._store.lock(self.key):
                return self._refresh()

    def _refresh(self) -> AccessToken:
        """Under both locks: read the state again (another process may have just refreshed it), then request
        a token if it is still needed."""
        state = self._store.get(self.key) or TokenState()
        now = self._clock.time()
        token = state.token
        if token is not None and not token.due_for_refresh(now, self._margin):
            return token
        try:
            return self._request(state, now, self._why(token, now))
        except (TokenBudgetExceeded, RetryableAPIError):
            if token is not None and not token.expired(now):
                return token  # still valid for a few seconds: better than failing
            raise

    def _why(self, token: AccessToken | None, now: float) -> str:
        if self._rejected:
            return "Toast answered 401 to the cached token"
        if token is None:
            return "no cached token"
        return "cached token expired" if token.expired(now) else "cached token is in its last minute"

    def invalidate(self, token: AccessToken) -> None:
        """Stop using ``token`` after a 401, unless another thread already replaced it."""
        with self._lock, self._store.lock(self.key):
            state = self._store.get(self.key) or TokenState()
            if state.token is not None and state.token.access_token == token.access_token:
                self._store.set(self.key, TokenState(None, state.requests))
                self._rejected = True

    def _request(self, state: TokenState, now: float, reason: str) -> AccessToken:
        recent = sorted(t for t in state.requests if now - t < HOUR)
        if len(recent) >= self._max:
            allowed_at = recent[len(recent) - self._max] + HOUR
            raise TokenBudgetExceeded(reason, allowed_at=allowed_at, now=now, recent=len(recent), limit=self._max)
        requests = (*recent, now)
        # Recorded before sending: a failed request still counts against Toast's limit.
        self._store.set(self.key, TokenState(state.token, requests))
        log.info("requesting a Toast token (%s)", reason)
        token = AccessToken.from_login_response(self._login(), self._clock.time())
        self._store.set(self.key, TokenState(token, requests))
        self._rejected = False
        return token
