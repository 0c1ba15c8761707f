"""The impersonation service on its own, its CLI grant, and its setting."""
import pytest
from sqlalchemy import func, select

from portal import config
from portal.errors import ConflictError, InputError
from portal.impersonation import service
from portal.impersonation.service import ImpersonationRefused
from portal.models import Impersonation
from tests import factories
from tests.impersonation.conftest import events


def _start(actor, org_id, **options):
    return service.start(actor, org_id, options.pop("reason", "TICKET-1"), allow_changes=options.pop("allow", False),
                         minutes=30, **options)


def test_members_can_never_impersonate(session, two_orgs):
    with pytest.raises(ImpersonationRefused):
        _start(two_orgs["owner_a"], two_orgs["b"].id)
    assert session.scalar(select(func.count(Impersonation.id))) == 0


def test_support_accounts_cannot_be_viewed_as(session, support):
    other_support = factories.SupportUserFactory()
    with pytest.raises(ImpersonationRefused, match="support accounts"):
        _start(support, other_support.org_id)


def test_disabled_support_users_cannot_impersonate(session, support, two_orgs):
    from portal.models.base import utcnow

    support.disabled_at = utcnow()
    with pytest.raises(ImpersonationRefused):
        _start(support, two_orgs["a"].id)


def test_nested_impersonation_is_refused(session, support, two_orgs):
    first = _start(support, two_orgs["a"].id)
    with pytest.raises(ConflictError):
        _start(support, two_orgs["b"].id, active=first)


@pytest.mark.parametrize("reason", ["", "  ", "ab", "x" * 201, None])
def test_reason_must_be_3_to_200_characters(session, support, two_orgs, reason):
    with pytest.raises(InputError):
        _start(support, two_orgs["a"].id, reason=reason)


def test_reason_whitespace_is_folded(session, support, two_orgs):
    assert _start(support, two_orgs["a"].id, reason="  TICKET-9 \n  sync  ").reason == "TICKET-9 sync"


def test_unknown_organization(session, support):
    with pytest.raises(LookupError):
        _start(support, 987654)


def test_changes_need_the_grant_and_the_session_choice(session, support, writer, two_orgs):
    with pytest.raises(ImpersonationRefused):
        _start(support, two_orgs["a"].id, allow=True)
    assert service.can_write(_start(writer, two_orgs["a"].id, allow=True))
    assert not service.can_write(_start(writer, two_orgs["b"].id, allow=False))


def test_ending_is_recorded_once(session, support, two_orgs):
    impersonation = _start(support, two_orgs["a"].id)
    service.end(impersonation, "stopped")
    service.end(impersonation, "expired")
    assert impersonation.end_reason == "stopped"
    assert [e.action for e in events(two_orgs["a"])] == ["impersonation.started", "impersonation.stopped"]


def test_minutes_left_rounds_up_and_never_goes_below_zero(session, support, two_orgs):
    from datetime import timedelta

    impersonation = _start(support, two_orgs["a"].id)
    assert service.minutes_left(impersonation, impersonation.started_at) == 30
    assert service.minutes_left(impersonation, impersonation.expires_at - timedelta(seconds=1)) == 1
    assert service.minutes_left(impersonation, impersonation.expires_at + timedelta(minutes=5)) == 0


@pytest.fixture
def cli(app, session):
    return app.test_cli_runner()


def test_grant_and_revoke_support_write_from_the_cli(cli, session, support):
    result = cli.invoke(args=["user", "grant-support-write", "--email", support.email.upper()])
    assert result.exit_code == 0 and "granted" in result.output
    session.refresh(support)
    assert support.can_write_as_support
    assert cli.invoke(args=["user", "grant-support-write", "--email", support.email, "--revoke"]).exit_code == 0
    session.refresh(support)
    assert not support.can_write_as_support


@pytest.mark.parametrize(("who", "message"), [("member", "only support users"), ("nobody", "no user")])
def test_the_grant_is_for_support_users_only(cli, session, two_orgs, who, message):
    email = two_orgs["owner_a"].email if who == "member" else "nobody@example.com"
    result = cli.invoke(args=["user", "grant-support-write", "--email", email])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not two_orgs["owner_a"].can_write_as_support


def test_the_setting_defaults_to_30_minutes_and_refuses_nonsense():
    assert config.from_env({})["IMPERSONATION_MINUTES"] == 30
    assert config.from_env({"IMPERSONATION_MINUTES": "45"})["IMPERSONATION_MINUTES"] == 45
    for bad in ("0", "-5", "soon"):
        with pytest.raises(config.ConfigError):
            config.from_env({"IMPERSONATION_MINUTES": bad})


def test_body_limits_have_defaults():
    settings = config.from_env({})
    assert settings["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    assert settings["MAX_FORM_CONTENT_LENGTH"] == 2 * 1024 * 1024
    assert settings["MAX_FORM_MEMORY_SIZE"] <= settings["MAX_FORM_CONTENT_LENGTH"]
