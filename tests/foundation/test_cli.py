import pytest
from sqlalchemy import select

from portal.models import Organization, User


@pytest.fixture
def cli(app, session):
    return app.test_cli_runner()


def test_org_and_users_are_created_from_the_command_line(cli, session):
    assert cli.invoke(args=["org", "create", "--name", "Harbor Group", "--slug", "harbor"]).exit_code == 0
    result = cli.invoke(args=["user", "create", "--email", "Owner@Harbor.example", "--org", "harbor", "--role", "owner"])
    assert result.exit_code == 0
    generated = result.output.rsplit(" ", 1)[-1].strip()
    assert len(generated) >= 12
    user = session.scalar(select(User).where(User.email == "owner@harbor.example"))
    assert user.role == "owner" and user.must_change_password


def test_password_from_stdin_is_used_and_not_printed(cli, session):
    cli.invoke(args=["org", "create", "--name", "Harbor", "--slug", "harbor"])
    result = cli.invoke(
        args=["user", "create", "--email", "m@harbor.example", "--org", "harbor", "--role", "marketer", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0 and "passphrase" not in result.output
    assert not session.scalar(select(User).where(User.email == "m@harbor.example")).must_change_password


def test_support_user_has_no_organization(cli, session):
    assert cli.invoke(args=["user", "create", "--email", "help@tablecloth.example", "--support"]).exit_code == 0
    user = session.scalar(select(User).where(User.email == "help@tablecloth.example"))
    assert user.is_support and user.org_id is None and user.role is None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["org", "create", "--name", "Other", "--slug", "harbor"], None, "already exists"),
        (["org", "create", "--name", "Bad", "--slug", "Not A Slug"], None, "slug must be"),
        (["user", "create", "--email", "x@y.example", "--org", "nope", "--role", "owner"], None, "no organization"),
        (["user", "create", "--email", "x@y.example", "--org", "harbor", "--role", "chef"], None, "Invalid value"),
        (["user", "create", "--email", "not-an-email", "--org", "harbor", "--role", "owner"], None, "valid email"),
        (["user", "create", "--email", "x@y.example", "--org", "harbor", "--role", "owner", "--password-stdin"],
         "short\n", "at least 12"),
        (["user", "create", "--email", "x@y.example", "--support", "--org", "harbor"], None, "either"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_and_writes_nothing(cli, session, args, stdin, message):
    cli.invoke(args=["org", "create", "--name", "Harbor", "--slug", "harbor"])
    result = cli.invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert session.scalar(select(User).where(User.email == "x@y.example")) is None
    assert session.scalars(select(Organization.slug)).all() == ["harbor"]


def test_demo_seed_runs_once(cli, session):
    first = cli.invoke(args=["demo", "seed"])
    assert "password:" in first.output
    second = cli.invoke(args=["demo", "seed"])
    assert "already exists" in second.output
