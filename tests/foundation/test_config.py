import hashlib
import base64
from pathlib import Path

import pytest

from portal import config, create_app


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY, PORTAL_ENCRYPTION_KEY"):
        create_app()


def test_session_cookie_is_secure_outside_debug(monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    settings = config.from_env({})
    assert settings["SESSION_COOKIE_SECURE"] and settings["SESSION_COOKIE_HTTPONLY"]
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_database_url_defaults_to_sqlite_and_maps_postgres_to_psycopg():
    assert config.database_url(None).startswith("sqlite:///") and config.database_url(None).endswith("portal.sqlite3")
    assert config.database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_pinned_sri_matches_the_htmx_package_installed_from_npm():
    path = Path(config.from_env({})["HTMX_LOCAL_PATH"])
    assert path.is_file(), f"{path} missing: `make install` installs the htmx.org package"
    digest = base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()
    assert config.HTMX_SRI == f"sha384-{digest}"
    assert f'"version": "{config.HTMX_VERSION}"' in (path.parents[1] / "package.json").read_text()


def test_pages_load_htmx_with_its_integrity_hash(client):
    page = client.get("/login").get_data(as_text=True)
    assert f'integrity="{config.HTMX_SRI}"' in page
    assert client.get("/vendor/htmx.min.js").status_code == 200
