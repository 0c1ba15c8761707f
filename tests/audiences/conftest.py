"""Audience sync tests: both sandboxes served over HTTP on real ports, guests in a committed database, real Redis."""
import json
import threading
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from werkzeug.serving import make_server

from audiences_sandbox.cli import build
from portal.audiences import service
from portal.extensions import db
from portal.models import Guest
from portal.models.privacy import MarketingOptIn
from tests import factories

SEGMENT_RULES = {"op": "and", "rules": [{"field": "order_count", "operator": "gte", "value": 2}]}


class Sandbox:
    def __init__(self, kind: str, **options):
        self.app, self.state = build(kind, rate=options.pop("rate", None), steady=options.pop("steady", None),
                                     **options)
        self.limits = self.app.extensions[f"{kind}_limits"]
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.root = f"http://127.0.0.1:{self.server.server_port}"
        self.base_url = self.root + ("/3.0" if kind == "mailchimp" else "")
        self.kind = kind
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def admin(self, method: str, path: str, **kwargs):
        response = httpx.request(method, f"{self.root}/sandbox{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def writes(self) -> list[dict]:
        return [r for r in self.admin("GET", "/requests") if r["method"] != "GET"]

    def stop(self):
        self.server.shutdown()


@pytest.fixture(params=["mailchimp", "klaviyo"])
def sandbox(request):
    box = Sandbox(request.param)
    yield box
    box.stop()


@pytest.fixture
def mailchimp():
    box = Sandbox("mailchimp")
    yield box
    box.stop()


def add_guest(org, n: int, *, orders: int = 3, email: str | None = None, opted_in: bool = False, **values) -> Guest:
    guest = Guest(org_id=org.id, key=f"e:guest{n}@example.com", email=email or f"guest{n}@example.com",
                  first_name=f"First{n}", last_name=f"Last{n}", has_email=True, order_count=orders,
                  last_order_at=datetime(2026, 11, 1, tzinfo=timezone.utc) - timedelta(days=n % 50), **values)
    db.session.add(guest)
    db.session.flush()
    if opted_in:
        db.session.add(MarketingOptIn(org_id=org.id, guest_id=guest.id, source="signup form"))
    return guest


@pytest.fixture
def world(committed, redis_conn):
    """An organization with a segment of guests with two orders or more."""
    org = factories.OrganizationFactory()
    owner = factories.UserFactory(organization=org, role="owner")
    segment = factories.SegmentFactory(organization=org, name="Regulars", slug="regulars",
                                       rules_json=json.dumps(SEGMENT_RULES))
    committed.commit()
    return {"org": org, "owner": owner, "segment": segment}


def connect(org, box: Sandbox):
    destination = service.connect(org.id, kind=box.kind, base_url=box.base_url, api_key=box.state.api_key,
                                  list_id=box.state.list_id)
    return destination
