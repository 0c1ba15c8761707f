"""Every org-scoped URL, walked with a user of another organization, is a 404.

The matrix is built from app.url_map, so new routes join it automatically; a route whose URL parameter
has no row maker below fails the test until one is added.
"""
import re
from pathlib import Path

import pytest

from portal import create_app
from tests.tenancy_rows import ROW_MAKERS

# Routes that are not org-scoped, each with the reason.
NOT_ORG_SCOPED = {
    "static": "public assets",
    "htmx_asset": "public asset",
    "auth.": "the signed-in user's own account",
    "support.": "support staff only; covered by the support tests",
    "webhooks.": "authenticated by an unguessable token and Toast's signature, not by a session",
    "unsubscribe.": "signed link for guests",
    "audience_webhooks.": "Mailchimp's list webhooks, named by an unguessable token, not by a session",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _org_scoped_rules():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    rules = []
    for rule in app.url_map.iter_rules():
        if any(rule.endpoint == key or (key.endswith(".") and rule.endpoint.startswith(key)) for key in NOT_ORG_SCOPED):
            continue
        if not rule.arguments:
            continue  # reads only the signed-in user's organization: no other row can be named
        for method in sorted((rule.methods or set()) & ({"GET"} | WRITE_METHODS)):
            rules.append(pytest.param(rule.rule, tuple(sorted(rule.arguments)), method, id=f"{method} {rule.rule}"))
    return rules


@pytest.mark.parametrize(("path", "arguments", "method"), _org_scoped_rules())
def test_other_organizations_rows_are_404(web, two_orgs, path, arguments, method):
    values = {}
    for name in arguments:
        assert name in ROW_MAKERS, f"no row maker for URL parameter <{name}> of {path}: add one to tests/tenancy_rows.py"
        values[name] = ROW_MAKERS[name](two_orgs["a"])
    url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), path)
    web.login(two_orgs["owner_b"])
    response = web.client.open(url, method=method, headers={"X-CSRFToken": web.token, "HX-Request": "true"})
    assert response.status_code == 404, f"{method} {url} answered {response.status_code} to another organization"


def test_the_same_urls_work_for_their_own_organization(web, two_orgs):
    marketer = two_orgs["marketer_a"]
    web.login(two_orgs["owner_a"])
    assert web.htmx_post(f"/settings/users/{marketer.id}/role", {"role": "marketer"}).status_code == 200


def test_routes_reach_rows_only_through_tenancy():
    forbidden = re.compile(r"\.query\b|db\.session\.get\(|\bselect\(")
    offenders = [
        f"{path}:{number}"
        for path in Path(__file__).resolve().parents[2].joinpath("portal").rglob("routes.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if forbidden.search(line)
    ]
    assert offenders == [], "routes must use portal.tenancy (scoped/get_or_404) or a service: " + ", ".join(offenders)
