"""Behind TRUSTED_PROXIES reverse proxies the client's address comes from X-Forwarded-For; never otherwise."""
import pytest
from flask import request

from portal import create_app
from portal.config import ConfigError, from_env
from tests import conftest


def remote_addr_seen(proxies: int) -> str:
    app = create_app({**conftest.test_config("sqlite://"), "TRUSTED_PROXIES": proxies})
    app.add_url_rule("/_addr", "addr", lambda: request.remote_addr or "")
    response = app.test_client().get("/_addr", headers={"X-Forwarded-For": "203.0.113.9"},
                                     environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return response.get_data(as_text=True)


def test_a_forwarded_address_is_used_only_behind_a_trusted_proxy():
    assert remote_addr_seen(1) == "203.0.113.9"  # the login rate limit and the audit trail see the client
    assert remote_addr_seen(0) == "10.0.0.2"  # a client cannot spoof its address without a proxy


@pytest.mark.parametrize("value", ["-1", "9", "two"])
def test_a_bad_proxy_count_names_the_setting(value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES|integer"):
        from_env({"TRUSTED_PROXIES": value})
