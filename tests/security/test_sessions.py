"""Sign-in hardening: a fresh session on sign-in, and no open redirects through ?next=."""
from urllib.parse import quote

import pytest

from portal.auth.routes import safe_next
from tests.conftest import TEST_PASSWORD, csrf_token_from


def _session_cookie(client):
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def test_signing_in_issues_a_new_session_and_the_old_one_stays_anonymous(app, client, two_orgs):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    before = _session_cookie(client)
    assert before
    response = client.post("/login", data={"email": two_orgs["owner_a"].email, "password": TEST_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    after = _session_cookie(client)
    assert after and after != before
    assert client.get("/").status_code == 200

    attacker = app.test_client()  # holds the cookie from before sign-in (session fixation)
    attacker.set_cookie("session", before)
    assert attacker.get("/").status_code == 302
    assert attacker.get("/settings/users/").headers["Location"].startswith("/login")


ATTACKS = [
    "https://evil.example", "http://evil.example/x", "//evil.example", "///evil.example", "/\\evil.example",
    "\\\\evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example", "/\t/evil.example", "/\n/evil.example", " //evil.example", "https:evil.example",
    "http:/evil.example", "//evil.example@good",
]


@pytest.mark.parametrize("target", ATTACKS)
def test_safe_next_refuses_anything_that_leaves_the_site(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ATTACKS)
def test_sign_in_never_redirects_off_site(client, two_orgs, target):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"email": two_orgs["owner_a"].email, "password": TEST_PASSWORD, "csrf_token": token}
    response = client.post(f"/login?next={quote(target, safe='')}", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_percent_encoded_slashes_stay_a_local_path(client, two_orgs):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"email": two_orgs["owner_a"].email, "password": TEST_PASSWORD, "csrf_token": token}
    response = client.post("/login?next=" + quote("/%2F%2Fevil.example", safe=""), data=data)
    assert response.headers["Location"] in ("/", "/%2F%2Fevil.example")  # a path on this site either way
