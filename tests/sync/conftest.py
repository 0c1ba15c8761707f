"""A Toast sandbox served over real HTTP, and an organization connected to it with committed rows."""
import threading

import pytest
from werkzeug.serving import make_server

from portal.connections import service
from portal.models import Organization
from tests.jobs import work  # noqa: F401 - the sync tests import it from here
from toast_sandbox.app import create_sandbox_app
from toast_sandbox.clients import GROUP_CLIENT

SANDBOX_DAYS = 12


@pytest.fixture
def sandbox():
    app = create_sandbox_app(seed=11, restaurants=2, days=SANDBOX_DAYS)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state = app.extensions["toast_sandbox"]
    state.base_url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()


@pytest.fixture
def connected(committed, sandbox):
    """An organization whose Toast connection reaches both sandbox locations (no sync run yet)."""
    org = Organization(name="Harbor Group", slug="harbor")
    committed.add(org)
    committed.commit()
    credentials = sandbox.credentials(GROUP_CLIENT)
    connection = service.create_connection(
        org, host=sandbox.base_url, client_id=credentials["client_id"],
        client_secret=credentials["client_secret"], webhook_secret=sandbox.webhook_secret,
    )
    committed.commit()
    names = {guid: "" for guid in sandbox.restaurant_guids}
    locations = service.connect_locations(connection, sandbox.restaurant_guids, names)
    committed.commit()
    return {"org": org, "connection": connection, "locations": locations, "sandbox": sandbox}


def sandbox_orders(sandbox, restaurant_guid: str) -> list[dict]:
    """Every order the sandbox holds for a location, as Toast would serve them now."""
    with sandbox.lock:
        return sandbox.store.modified_between(sandbox.index_of(restaurant_guid), 0, sandbox.now_ms + 1)
