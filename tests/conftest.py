"""Shared fixtures: the app on each test database, a rolled-back transaction per test, login through the form."""
import contextvars
import os
import re
import threading

import pytest
import redis as redis_lib
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import create_engine
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from tests import factories

DATABASES = [name for name in os.environ.get("TEST_DATABASES", "sqlite").split(",") if name]
TEST_PASSWORD = factories.DEFAULT_PASSWORD
CSRF_PATTERN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.fail("TEST_POSTGRES_URL is not set: run the suite with `make test`, which starts PostgreSQL")
    return url


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request, tmp_path_factory):
    """Each session-scoped database starts empty; the schema comes only from the migrations."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/test.sqlite3"
    url = postgres_url()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


def test_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "PORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6390/0"),
        "RATELIMIT_STORAGE_URI": os.environ.get("TEST_REDIS_URL", "memory://"),
        "LOGIN_RATE_LIMIT": "100000 per minute",  # the bad-input matrices sign in well over 1000 times a minute
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "HTMX_SOURCE": "local",
        "TOAST_HISTORY_SPACING_S": 0.0,
        "SERVER_NAME": None,
    }


class IsolatedClient(FlaskClient):
    """Each request runs in an empty contextvars context, so it pushes its own app context and ``g``
    even while the test holds one (a shared ``g`` would leak the signed-in user and CSRF token)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(self._open_and_read, *args, **kwargs)

    def _open_and_read(self, *args, **kwargs):
        # A streamed body (stream_with_context) pushes the request's contexts in this Context: read it here.
        response = super().open(*args, **kwargs)
        if response.is_streamed:
            response.make_sequence()
        return response


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(test_config(database_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
    return app


class _ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy picks engines by bind key; tests pin every query to the test's connection."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture
def session(app):
    """A transaction rolled back after the test; commits inside views become savepoints.

    Test code and every request share one session pinned to the test's connection; the test body runs
    inside an app context (requests get their own, see IsolatedClient).
    """
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        test_session = db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": _ConnectionBoundSession,
                "scopefunc": lambda: "test",
            }
        )
        close = test_session.remove
        test_session.remove = lambda: None  # the app's teardown must not close the test's session
        db.session = test_session
        factories.bind(test_session)
        try:
            yield test_session
        finally:
            close()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app, session):
    return app.test_client()


@pytest.fixture
def redis_conn(app):
    conn = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    try:
        conn.ping()
    except redis_lib.ConnectionError:
        pytest.fail(f"Redis is not reachable at {app.config['REDIS_URL']}: run the suite with `make test`")
    conn.flushdb()
    yield conn
    conn.flushdb()


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html) or re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Browserless:
    """Signs in through the real login form and carries the CSRF token for later posts."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def login(self, user, password: str = TEST_PASSWORD):
        page = self.client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        response = self.client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
        assert response.status_code == 302, f"login failed for user {user.id}: {response.status_code}"
        self.token = csrf_token_from(self.client.get("/account/password").get_data(as_text=True))
        return response

    def post(self, url, data=None, **kwargs):
        payload = {"csrf_token": self.token, **(data or {})}
        return self.client.post(url, data=payload, **kwargs)

    def htmx_post(self, url, data=None):
        return self.client.post(url, data=data or {}, headers={"HX-Request": "true", "X-CSRFToken": self.token})


@pytest.fixture
def web(client):
    return Browserless(client)


@pytest.fixture
def two_orgs(session):
    """Two tenants, each with an owner and a marketer."""
    org_a, org_b = factories.OrganizationFactory(), factories.OrganizationFactory()
    return {
        "a": org_a,
        "b": org_b,
        "owner_a": factories.UserFactory(organization=org_a, role="owner"),
        "marketer_a": factories.UserFactory(organization=org_a, role="marketer"),
        "owner_b": factories.UserFactory(organization=org_b, role="owner"),
        "marketer_b": factories.UserFactory(organization=org_b, role="marketer"),
    }


@pytest.fixture(scope="session")
def live_server(app):
    """The portal on a real port (browser tests, webhooks sent over HTTP)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def committed(app):
    """Rows written for real, visible to other threads and processes (live server, workers); removed afterwards."""
    with app.app_context():
        factories.bind(db.session)
        yield db.session
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
