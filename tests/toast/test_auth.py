"""Tokens: one per client for all locations, refresh in the last minute or after a 401, the
2-per-hour guard, pluggable store, and what the JWT tells (fake Toast, fake clock)."""
import json

import httpx
import pytest

from portal.toast.auth import AccessToken, AccountKind, MemoryTokenStore, TokenState
from portal.toast.client import ToastClient
from portal.toast.errors import AuthError, FatalAPIError, RetryableAPIError, TokenBudgetExceeded
from tests.toast.conftest import HOST, LOC_A, LOC_B, RESTAURANT_PATH, T0, ToastMock, json_response, make_jwt


def test_one_token_serves_every_location_and_headers_are_set(toast):
    toast.routes[RESTAURANT_PATH + LOC_A] = json_response(200, {"guid": LOC_A, "general": {"name": "A"}})
    toast.routes[RESTAURANT_PATH + LOC_B] = json_response(200, {"guid": LOC_B, "general": {"name": "B"}})
    toast.routes["/partners/v1/restaurants"] = json_response(200, [{"restaurantGuid": LOC_A}])
    client = toast.client()
    assert client.restaurant(LOC_A).general.name == "A"
    assert client.restaurant(LOC_B).general.name == "B"
    assert client.partner_restaurants()[0].restaurant_guid == LOC_A
    assert len(toast.login_requests) == 1
    login = toast.login_requests[0]
    assert json.loads(login.content) == {"clientId": "client-id", "clientSecret": "client-secret",
                                         "userAccessType": "TOAST_MACHINE_CLIENT"}
    assert "Authorization" not in login.headers and "Toast-Restaurant-External-ID" not in login.headers
    a, b, partners = toast.requests
    assert a.headers["Toast-Restaurant-External-ID"] == LOC_A and b.headers["Toast-Restaurant-External-ID"] == LOC_B
    assert a.headers["Authorization"] == b.headers["Authorization"] == partners.headers["Authorization"]
    assert a.headers["Authorization"].startswith("Bearer ey")
    assert "Toast-Restaurant-External-ID" not in partners.headers


def test_token_is_refreshed_only_in_its_last_minute(clock):
    toast = ToastMock(clock, expires_in=3600)
    toast.routes["/labor/v1/employees"] = json_response(200, [])
    client = toast.client()
    client.employees(LOC_A)
    clock.advance(3539)
    client.employees(LOC_A)
    assert len(toast.login_requests) == 1
    clock.advance(2)  # now 59 s before expiry
    client.employees(LOC_A)
    assert len(toast.login_requests) == 2
    assert toast.requests[-1].headers["Authorization"] != toast.requests[0].headers["Authorization"]


def test_401_refreshes_the_token_once_then_succeeds(toast):
    toast.routes["/labor/v1/employees"] = json_response(200, [{"guid": "e-1"}])
    client = toast.client()
    client.employees(LOC_A)
    toast.revoke_tokens()
    assert client.employees(LOC_A)[0].guid == "e-1"
    assert len(toast.login_requests) == 2
    assert [r.headers["Authorization"] == toast.requests[0].headers["Authorization"] for r in toast.requests] == [
        True, True, False]


def test_401_twice_is_an_auth_error(toast):
    toast.routes["/labor/v1/employees"] = json_response(401, {"message": "token revoked", "requestId": "r-2"})
    client = toast.client()
    with pytest.raises(AuthError) as info:
        client.employees(LOC_A)
    assert info.value.status == 401 and "reconnect" in info.value.reason.lower()
    assert len(toast.login_requests) == 2 and len(toast.requests) == 2


def test_403_is_an_auth_error_without_retry_or_refresh(toast):
    toast.routes["/labor/v1/employees"] = json_response(403, {"message": "missing scope labor.employees:read"})
    client = toast.client()
    with pytest.raises(AuthError, match="missing scope"):
        client.employees(LOC_A)
    assert len(toast.requests) == 1 and len(toast.login_requests) == 1


def test_rejected_credentials_are_an_auth_error(clock):
    http = httpx.Client(transport=httpx.MockTransport(lambda r: json_response(401, {"message": "bad secret"})))
    client = ToastClient(HOST, "id", "wrong", http=http, clock=clock)
    with pytest.raises(AuthError, match="client ID or secret"):
        client.token_info()


def test_third_token_request_within_an_hour_is_refused(toast, clock):
    toast.routes["/labor/v1/employees"] = json_response(200, [])
    client = toast.client()
    client.employees(LOC_A)  # token request 1
    clock.advance(600)
    toast.revoke_tokens()
    client.employees(LOC_A)  # 401 -> token request 2
    clock.advance(600)
    toast.revoke_tokens()
    with pytest.raises(TokenBudgetExceeded) as info:
        client.employees(LOC_A)  # 401 -> a third request would break Toast's 2-per-hour rule
    assert len(toast.login_requests) == 2
    assert info.value.retry_after == pytest.approx(3600 - 1200)
    assert "401" in str(info.value) and "next allowed at" in str(info.value)
    clock.advance(info.value.retry_after)
    client.employees(LOC_A)
    assert len(toast.login_requests) == 3


def test_spent_budget_keeps_using_a_token_in_its_last_minute(clock):
    toast = ToastMock(clock, expires_in=120)
    toast.routes["/labor/v1/employees"] = json_response(200, [])
    client = toast.client()
    client.employees(LOC_A)
    clock.advance(61)
    client.employees(LOC_A)  # last minute: second token
    clock.advance(61)
    client.employees(LOC_A)  # last minute again, budget spent: the valid token is kept
    assert len(toast.login_requests) == 2
    clock.advance(60)  # now expired
    with pytest.raises(TokenBudgetExceeded, match="expired"):
        client.employees(LOC_A)


def test_failed_refresh_in_the_last_minute_keeps_the_valid_token(clock):
    toast = ToastMock(clock, expires_in=120)
    toast.routes["/labor/v1/employees"] = json_response(200, [])
    client = toast.client()
    client.employees(LOC_A)
    clock.advance(61)
    toast.login_errors = [503]
    client.employees(LOC_A)  # refresh failed with 503: the token still has 59 s
    assert len(toast.login_requests) == 2
    assert toast.requests[0].headers["Authorization"] == toast.requests[1].headers["Authorization"]
    clock.advance(60)
    with pytest.raises(TokenBudgetExceeded, match="expired"):
        client.employees(LOC_A)  # the failed request counted: no third one this hour, no valid token
    assert len(toast.login_requests) == 2


def test_failed_token_request_without_a_valid_token_is_retryable(toast):
    toast.login_errors = [503]
    with pytest.raises(RetryableAPIError, match="HTTP 503"):
        toast.client().token_info()


def test_token_store_is_shared_between_clients(clock):
    store = MemoryTokenStore()
    toast = ToastMock(clock)
    toast.routes["/labor/v1/employees"] = json_response(200, [])
    toast.client(token_store=store).employees(LOC_A)
    toast.client(token_store=store).employees(LOC_B)  # another worker process, same store
    assert len(toast.login_requests) == 1
    (key, state), = store._states.items()
    assert key == f"{HOST}|client-id"
    restored = TokenState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state and restored.token.scopes == state.token.scopes


def test_token_info_exposes_scopes_and_account_kind(clock):
    partner = ToastMock(clock, claims={"scope": "orders:read menus:read", "https://toasttab.com/partner_guid": "p-1"})
    client = partner.client()
    assert client.scopes == {"orders:read", "menus:read"}
    assert client.account_kind is AccountKind.PARTNER and client.partner_guid == "p-1"
    assert client.management_group_guid is None
    group = ToastMock(clock, claims={"scope": "", "https://toasttab.com/management_set_guid": "mg-7"})
    info = group.client().token_info()
    assert info.account_kind is AccountKind.MANAGEMENT_GROUP and info.management_group_guid == "mg-7"
    assert info.scopes == frozenset()


def test_token_without_a_jwt_payload_still_works():
    token = AccessToken.from_login_response({"token": {"accessToken": "opaque", "expiresIn": 10}}, T0)
    assert token.scopes == frozenset() and token.account_kind is AccountKind.UNKNOWN
    assert token.expires_at == T0 + 10
    assert AccessToken.from_login_response({"token": {"accessToken": make_jwt({"exp": T0 + 5})}}, T0).expires_at == T0 + 5
    with pytest.raises(FatalAPIError):
        AccessToken.from_login_response({"token": {"accessToken": "opaque"}}, T0)
