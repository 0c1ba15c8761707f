"""Test helpers for portal.toast: a fake clock, JWT builder, and a fake Toast server.

The fake server (``ToastMock``) runs behind ``httpx.MockTransport`` on the same fake clock as the
client, issues JWTs, rejects unknown tokens with 401 and enforces Toast's published rate limits
(fixed windows) so a pacing bug shows up as a 429 it counts in ``throttled``.
"""
from __future__ import annotations

import base64
import json
import math
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.toast.client import ToastClient

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "toast-samples"
HOST = "https://toast.test"
LOGIN_PATH = "/authentication/v1/authentication/login"
RESTAURANT_PATH = "/restaurants/v1/restaurants/"
LOC_A = "aaaaaaaa-0000-4000-8000-00000000000a"
LOC_B = "bbbbbbbb-0000-4000-8000-00000000000b"
# An epoch second that starts both a 1 s and a 15 min window, so window arithmetic is easy to read.
T0 = 1_700_000_100.0
assert T0 % 900 == 0


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample_json(name: str) -> Any:
    return json.loads(sample_bytes(name))


class FakeClock:
    """Clock whose sleep only moves time forward; thread-safe; records every sleep."""

    def __init__(self, start: float = T0):
        self._wall = start
        self._mono = 10_000.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def time(self) -> float:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        with self._lock:
            self.sleeps.append(seconds)
            self._wall += seconds
            self._mono += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._wall += seconds
            self._mono += seconds


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict[str, Any]) -> str:
    """An unsigned-looking JWT carrying ``claims`` (the client never checks signatures)."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}.c2lnbmF0dXJl"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


Handler = Callable[[httpx.Request], httpx.Response]


class ToastMock:
    """Fake Toast. ``routes[path]`` is a Response, a list of Responses (served in order, the last one
    repeating) or a callable(request) -> Response. ``limits`` mirrors Toast's fixed windows."""

    def __init__(self, clock: FakeClock, *, expires_in: int = 86_400, claims: dict[str, Any] | None = None):
        self.clock = clock
        self.expires_in = expires_in
        self.claims = claims if claims is not None else {"scope": "orders:read config:read"}
        self.routes: dict[str, Any] = {}
        self.requests: list[httpx.Request] = []
        self.login_requests: list[httpx.Request] = []
        self.login_errors: list[int] = []  # statuses the next token requests answer with
        self.valid_tokens: set[str] = set()
        self.throttled = 0
        self.enforce_limits = True
        self._counts: dict[tuple, int] = defaultdict(int)
        self._lock = threading.Lock()

    # -- wiring --
    def client(self, **kwargs: Any) -> ToastClient:
        kwargs.setdefault("rand", lambda: 1.0)
        http = httpx.Client(transport=httpx.MockTransport(self.handle))
        return ToastClient(HOST, "client-id", "client-secret", http=http, clock=self.clock, **kwargs)

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    # -- server --
    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if request.url.path == LOGIN_PATH:
                return self._login(request)
            self.requests.append(request)
            auth = request.headers.get("Authorization", "")
            if auth.removeprefix("Bearer ") not in self.valid_tokens:
                return json_response(401, {"status": 401, "message": "Unauthorized", "requestId": "req-401"})
            if self.enforce_limits and self._over_limit(request):
                self.throttled += 1
                return json_response(429, {"message": "Too many requests"}, {"Retry-After": "1"})
            return self._route(request)

    def _login(self, request: httpx.Request) -> httpx.Response:
        self.login_requests.append(request)
        if self.login_errors:
            return json_response(self.login_errors.pop(0), {"message": "login failed"})
        claims = {**self.claims, "n": len(self.login_requests)}
        token = make_jwt(claims)
        self.valid_tokens.add(token)
        body = {"token": {"tokenType": "Bearer", "scope": None, "expiresIn": self.expires_in,
                          "accessToken": token, "idToken": None, "refreshToken": None}, "status": "SUCCESS"}
        return json_response(200, body)

    def _over_limit(self, request: httpx.Request) -> bool:
        now = self.clock.time()
        location = request.headers.get("Toast-Restaurant-External-ID")
        keys = [(("global", math.floor(now)), 20), (("global15", math.floor(now / 900)), 10_000)]
        if request.url.path.endswith("/ordersBulk"):
            keys.append((("ordersBulk", location, math.floor(now)), 5))
        if request.url.path == "/menus/v2/menus":
            keys.append((("menus", location, math.floor(now)), 1))
        for key, _ in keys:
            self._counts[key] += 1
        return any(self._counts[key] > limit for key, limit in keys)

    def _route(self, request: httpx.Request) -> httpx.Response:
        route = self.routes.get(request.url.path)
        if route is None:
            return json_response(404, {"message": f"no route {request.url.path}", "requestId": "req-404"})
        if callable(route):
            return route(request)
        if isinstance(route, list):
            route = route.pop(0) if len(route) > 1 else route[0]
        # A fresh copy each time: a Response object must not be served twice.
        return httpx.Response(route.status_code, content=route.content, headers=route.headers)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def toast(clock: FakeClock) -> ToastMock:
    return ToastMock(clock)
