"""Authentication, token reuse, revocation, and access rules (scopes, restaurant header, partner-only)."""
import base64
import hashlib
import hmac
import json

import pytest

from tests.toast_sandbox.conftest import FakeClock
from toast_sandbox import CRM_SCOPES, GROUP_CLIENT, LIMITED_CLIENT, PARTNER_CLIENT
from toast_sandbox.clients import token_key

CLAIM = "https://toasttab.com/"


def jwt_parts(token: str) -> tuple[dict, dict, bytes, str]:
    header, payload, signature = token.split(".")

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return json.loads(decode(header)), json.loads(decode(payload)), decode(signature), f"{header}.{payload}"


def test_login_returns_a_toast_token(api):
    body = api.login().json
    assert body["@class"] == ".SuccessfulResponse" and body["status"] == "SUCCESS"
    token = body["token"]
    assert (token["tokenType"], token["scope"], token["idToken"], token["refreshToken"]) == ("Bearer", None, None, None)
    header, claims, signature, signed = jwt_parts(token["accessToken"])
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert signature == hmac.new(token_key(7), signed.encode(), hashlib.sha256).digest()
    assert set(claims["scope"].split(" ")) == set(CRM_SCOPES)
    assert claims[f"{CLAIM}access_type"] == "TOAST_MACHINE_CLIENT"
    assert claims[f"{CLAIM}management_set_guid"] == api.state.group_guid
    assert f"{CLAIM}partner_guid" not in claims
    assert claims["sub"] == f"{GROUP_CLIENT}@clients" and claims["azp"] == GROUP_CLIENT
    assert claims["gty"] == "client-credentials" and claims["exp"] - claims["iat"] == 86400
    assert {"iss", "aud", f"{CLAIM}client_name", f"{CLAIM}type"} <= set(claims)
    assert "X-Toast-RateLimit-Remaining" not in api.login().headers


def test_partner_tokens_carry_the_partner_guid(api):
    _, claims, _, _ = jwt_parts(api.login(PARTNER_CLIENT).json["token"]["accessToken"])
    assert claims[f"{CLAIM}partner_guid"] and f"{CLAIM}management_set_guid" not in claims


@pytest.mark.parametrize("change", [{"clientSecret": "nope"}, {"clientId": "stranger"}, {"userAccessType": None},
                                    {"userAccessType": "TOAST_USER"}])
def test_bad_credentials_are_401(api, change):
    body = {"clientId": GROUP_CLIENT, "clientSecret": api.state.accounts[GROUP_CLIENT].secret,
            "userAccessType": "TOAST_MACHINE_CLIENT", **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = api.http.post("/authentication/v1/authentication/login", json=body)
    assert response.status_code == 401 and response.json["status"] == "401"


def test_tokens_are_reused_until_their_last_minute(make_api):
    clock = FakeClock()
    api = make_api(clock=clock)
    first = api.login().json["token"]
    clock.advance(3600)
    again = api.login().json["token"]
    assert again["accessToken"] == first["accessToken"] and again["expiresIn"] == first["expiresIn"] - 3600
    clock.advance(86400 - 3600 - 90)
    assert api.login().json["token"]["accessToken"] == first["accessToken"]
    clock.advance(40)  # 50 s left: inside the last minute
    renewed = api.login().json["token"]
    assert renewed["accessToken"] != first["accessToken"] and renewed["expiresIn"] == 86400
    clock.advance(86400)
    assert api.login().json["token"]["accessToken"] != renewed["accessToken"]


def test_expired_forged_and_missing_tokens_are_401(make_api):
    clock = FakeClock()
    api = make_api(clock=clock)
    token = api.token()
    headers = {"Toast-Restaurant-External-ID": api.state.restaurant_guids[0]}
    assert api.http.get("/labor/v1/employees", headers=headers).status_code == 401
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert api.http.get("/labor/v1/employees", headers={**headers, "Authorization": f"Bearer {forged}"}).status_code \
        == 401
    assert api.get("/labor/v1/employees").status_code == 200
    clock.advance(86401)
    expired = api.get("/labor/v1/employees")
    assert expired.status_code == 401 and "X-Toast-RateLimit-Remaining" in expired.headers


def test_revoked_clients_are_locked_out(make_api):
    api = make_api()
    assert api.get("/labor/v1/employees").status_code == 200
    api.state.revoke(GROUP_CLIENT)
    assert api.get("/labor/v1/employees").status_code == 401
    assert api.login().status_code == 401
    api.state.restore(GROUP_CLIENT)
    assert api.login().status_code == 200
    assert api.http.post(f"/sandbox/clients/{GROUP_CLIENT}/revoke").json["revoked"] is True
    assert api.get("/labor/v1/employees").status_code == 401


def test_restaurant_header_rules(api):
    state = api.state
    assert api.get("/labor/v1/employees", restaurant=None).status_code == 400
    group = api.get("/labor/v1/employees", restaurant=state.group_guid)
    assert group.status_code == 400 and group.json["fieldName"] == "Toast-Restaurant-External-ID"
    assert api.get("/labor/v1/employees", restaurant="0f5d9a8e-1111-4222-8333-944455556666").status_code == 403
    assert api.get("/labor/v1/employees", restaurant=1).status_code == 200
    assert api.get("/labor/v1/employees", client_id=PARTNER_CLIENT, restaurant=1).status_code == 403
    assert api.get("/labor/v1/employees", client_id=PARTNER_CLIENT, restaurant=0).status_code == 200


@pytest.mark.parametrize("path, scope", [
    ("/orders/v2/ordersBulk?businessDate=20240510", "orders:read"), ("/config/v2/diningOptions", "config:read"),
    ("/menus/v2/menus", "menus:read"), ("/menus/v2/metadata", "menus:read"),
    ("/labor/v1/employees", "labor.employees:read"), ("/restaurants/v1/groups/{group}/restaurants", "restaurants:read"),
])
def test_each_endpoint_needs_its_scope(make_api, path, scope):
    others = [item for item in CRM_SCOPES if item != scope]
    api = make_api(clients={"narrow": {"scopes": others}, "just-this": {"scopes": [scope]}})
    url = path.replace("{group}", api.state.group_guid)
    denied = api.get(url, client_id="narrow")
    assert denied.status_code == 403 and scope in denied.json["developerMessage"]
    assert api.get(url, client_id="just-this").status_code == 200


def test_partner_endpoints_are_for_partner_clients_only(api):
    assert api.get("/partners/v1/restaurants", restaurant=None).status_code == 403
    assert api.get("/partners/v1/restaurants", restaurant=None, client_id=LIMITED_CLIENT).status_code == 403
    assert api.get("/partners/v1/restaurants", restaurant=None, client_id=PARTNER_CLIENT).status_code == 200
