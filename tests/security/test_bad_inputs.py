"""Bad input against every write endpoint: refused with a 4xx, never a 500, never echoed raw, nothing stored.

Built from app.url_map, so endpoints added later are attacked too. URL parameters are filled with rows of the
signed-in user's organization (tests/tenancy_rows.py), so each request reaches real code, not a 404.
"""
import json

import pytest
from sqlalchemy import select

from portal.models import Impersonation
from tests import factories
from tests.conftest import Browserless, csrf_token_from
from tests.url_rules import fill, form_field_names, snapshot, write_rules

FIELDS = form_field_names()
# Machine endpoints: no session and no CSRF token, a signature instead; webhooks take JSON by design, and the
# guests' signed unsubscribe links take RFC 8058 one-click POSTs from mail providers (tests/privacy covers them).
MACHINE = ("webhooks.", "unsubscribe.", "audience_webhooks.")
# Where free text is legitimately stored as given (and escaped when shown).
FREE_TEXT_ENDPOINTS = {"impersonation.start": "the support reason"}
ALL_WRITES = write_rules()
BROWSER_WRITES = write_rules(skip=lambda endpoint: endpoint.startswith(MACHINE))
INJECTIONS = [
    "<script>alert(1)</script>",
    "'; DROP TABLE users; --",
    "\" onmouseover=\"alert(1)\" x=\"",
    "' OR '1'='1' --",
    "{{ 7 * 7 }}{% print 1 %}",
    "A" * 5000,
    "\u202etxt.exe \U0001d518\U0001d52b\U0001d526",
]
ECHO_MARKERS = ["<script>alert(1)", "onmouseover=\"alert(1)\""]  # a literal {{ }} echoed back is inert text


def _actor_web(app, two_orgs, endpoint: str) -> Browserless:
    """The person who would use this endpoint, signed in, with their CSRF token."""
    web = Browserless(app.test_client())
    if endpoint == "auth.login" or endpoint.startswith(MACHINE):
        web.token = csrf_token_from(web.client.get("/login").get_data(as_text=True))
    elif endpoint.startswith(("support.", "impersonation.")):
        web.login(factories.SupportUserFactory())
    else:
        web.login(two_orgs["owner_a"])
    return web


@pytest.fixture
def attack(app, two_orgs, session):
    """(web, url) for one rule, plus a check that the database did not change."""

    def prepare(endpoint, path, arguments):
        url = fill(path, arguments, two_orgs["a"])
        web = _actor_web(app, two_orgs, endpoint)
        before = snapshot(session)
        return web, url, lambda: snapshot(session) == before

    return prepare


def _form(token, value="valid-looking value") -> dict:
    return {name: value for name in FIELDS} | {"csrf_token": token}


@pytest.mark.parametrize(("endpoint", "path", "arguments", "method"), ALL_WRITES)
@pytest.mark.parametrize("kind", ["form", "multipart", "json"])
def test_oversized_bodies_are_413(app, attack, endpoint, path, arguments, method, kind):
    web, url, unchanged = attack(endpoint, path, arguments)
    limit = app.config["MAX_CONTENT_LENGTH"] if kind == "json" else app.config["MAX_FORM_CONTENT_LENGTH"]
    filler = "a" * (limit + 1)
    if kind == "json":
        response = web.client.open(url, method=method, data=json.dumps({"x": filler}),
                                   content_type="application/json", headers={"X-CSRFToken": web.token})
    elif kind == "multipart":
        response = web.client.open(url, method=method, data={**_form(web.token), "notes": filler},
                                   content_type="multipart/form-data")
    else:
        response = web.client.open(url, method=method, data={**_form(web.token), "notes": filler})
    assert response.status_code == 413, f"{method} {url} answered {response.status_code}"
    assert "too large" in response.get_data(as_text=True)
    assert unchanged()


def test_a_form_field_over_the_memory_limit_is_413(app, web, two_orgs, session):
    web.login(two_orgs["owner_a"])
    big = "a" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)
    response = web.client.post("/settings/users/", data={"csrf_token": web.token, "email": big, "role": "owner"},
                               content_type="multipart/form-data")
    assert response.status_code == 413


BAD_UTF8 = {
    "raw byte": b"email={email}&role=\xff",
    "percent-encoded byte": b"email={email}&role=%ff",
    "overlong slash": b"email={email}&role=%c0%af",
    "lone surrogate": b"email={email}&role=%ed%a0%80",
    "NUL": b"email={email}&role=owner%00",
    "bad name": b"email={email}&r%fele=owner",
}


@pytest.mark.parametrize(("endpoint", "path", "arguments", "method"), ALL_WRITES)
@pytest.mark.parametrize("case", sorted(BAD_UTF8))
def test_invalid_utf8_in_forms_is_400(attack, endpoint, path, arguments, method, case):
    web, url, unchanged = attack(endpoint, path, arguments)
    body = b"csrf_token=" + web.token.encode() + b"&" + BAD_UTF8[case].replace(b"{email}", b"x%40example.com")
    response = web.client.open(url, method=method, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, f"{method} {url} answered {response.status_code}"
    assert unchanged()


@pytest.mark.parametrize(("endpoint", "path", "arguments", "method"), ALL_WRITES)
def test_invalid_utf8_in_multipart_and_query_is_400(attack, endpoint, path, arguments, method):
    web, url, unchanged = attack(endpoint, path, arguments)
    body = (b"--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + web.token.encode()
            + b"\r\n--b\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n\xff\xfe@example.com\r\n--b--\r\n")
    response = web.client.open(url, method=method, data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400
    assert web.client.open(f"{url}?q=%ff", method=method, data=_form(web.token)).status_code == 400
    assert unchanged()


@pytest.mark.parametrize("query", ["q=%ff", "q=%00", "page=%c0%af"])
def test_invalid_utf8_in_a_page_query_is_400(web, two_orgs, query):
    web.login(factories.SupportUserFactory())
    assert web.client.get(f"/support/tenants?{query}").status_code == 400


@pytest.mark.parametrize(("endpoint", "path", "arguments", "method"), ALL_WRITES)
@pytest.mark.parametrize("payload", INJECTIONS, ids=lambda p: p[:12])
def test_injection_strings_are_neither_a_500_nor_echoed_raw(app, attack, session, endpoint, path, arguments,
                                                            method, payload):
    web, url, _ = attack(endpoint, path, arguments)
    response = web.client.open(url, method=method, data=_form(web.token, payload), headers={"HX-Request": "true"})
    assert response.status_code < 500, f"{method} {url} answered {response.status_code}"
    assert not any(marker in response.get_data(as_text=True) for marker in ECHO_MARKERS if marker in payload)
    if endpoint in FREE_TEXT_ENDPOINTS and response.status_code == 303:
        stored = session.scalar(select(Impersonation.reason).order_by(Impersonation.id.desc()).limit(1))
        assert stored == " ".join(payload.split())  # stored as given (whitespace folded), not mangled
        page = web.client.get("/support/tenants").get_data(as_text=True)
        assert not any(marker in page for marker in ECHO_MARKERS if marker in payload)


WRONG_TYPES = {
    "json": ("application/json", json.dumps({"email": "json@example.com", "role": "owner", "reason": "TICKET-1"})),
    "xml": ("application/xml", "<user><email>xml@example.com</email><role>owner</role></user>"),
    "text": ("text/plain", "email=text@example.com&role=owner&reason=TICKET-1"),
}


@pytest.mark.parametrize(("endpoint", "path", "arguments", "method"), BROWSER_WRITES)
@pytest.mark.parametrize("kind", sorted(WRONG_TYPES))
def test_bodies_that_are_not_forms_are_refused(attack, endpoint, path, arguments, method, kind):
    web, url, unchanged = attack(endpoint, path, arguments)
    content_type, body = WRONG_TYPES[kind]
    response = web.client.open(url, method=method, data=body, content_type=content_type,
                               headers={"X-CSRFToken": web.token, "HX-Request": "true"})
    assert 400 <= response.status_code < 500, f"{method} {url} answered {response.status_code}"
    assert unchanged()


@pytest.mark.parametrize(("endpoint", "path", "arguments", "method"), BROWSER_WRITES)
def test_a_missing_csrf_token_is_400(attack, endpoint, path, arguments, method):
    web, url, unchanged = attack(endpoint, path, arguments)
    form = _form(web.token) | {"email": "new.one@example.com", "role": "owner", "reason": "TICKET-1"}
    del form["csrf_token"]
    response = web.client.open(url, method=method, data=form)
    assert response.status_code == 400, f"{method} {url} answered {response.status_code}"
    assert unchanged()


def test_a_json_body_cannot_remove_a_member(web, two_orgs, session):
    """The reason for the content-type rule: this endpoint reads no fields, so any body used to work."""
    marketer = two_orgs["marketer_a"]
    web.login(two_orgs["owner_a"])
    response = web.client.post(f"/settings/users/{marketer.id}/remove", data="{}", content_type="application/json",
                               headers={"X-CSRFToken": web.token})
    assert response.status_code == 415
    session.refresh(marketer)
    assert marketer.disabled_at is None
