"""Flask CLI: ``flask org ...``, ``flask user ...``, ``flask demo ...``. Errors are one line and exit non-zero."""
import sys
from functools import wraps

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError

from portal.accounts import service as accounts
from portal.passwords import generate_password
from portal.dbutil import is_lock_error
from portal.errors import InputError
from portal.extensions import db

org_cli = AppGroup("org", help="Manage organizations (tenants).")
user_cli = AppGroup("user", help="Manage users.")
demo_cli = AppGroup("demo", help="Demo data for local runs.")


BUSY_MESSAGE = "the database is busy with other writers; nothing was changed. Try again in a moment."


def one_line_errors(command):
    """Turn InputError, and a database still locked by another writer after the wait, into click's one-line error
    (exit 1) and leave nothing half-written."""

    @wraps(command)
    def wrapped(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        except DBAPIError as exc:
            if not is_lock_error(exc):
                raise
            db.session.rollback()
            raise click.ClickException(BUSY_MESSAGE) from None

    return wrapped


@org_cli.command("create")
@click.option("--name", required=True)
@click.option("--slug", required=True)
@one_line_errors
def org_create(name, slug):
    """Create an organization."""
    org = accounts.create_organization(name, slug)
    db.session.commit()
    click.echo(f"created organization {org.slug} (id {org.id})")


@user_cli.command("create")
@click.option("--email", required=True)
@click.option("--org", "org_slug", help="Slug of the user's organization.")
@click.option("--role", type=click.Choice(["owner", "marketer"]), help="Role within the organization.")
@click.option("--support", is_flag=True, help="A platform support user (no organization).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@one_line_errors
def user_create(email, org_slug, role, support, password_stdin):
    """Create a user; without --password-stdin a password is generated and printed once."""
    if support == bool(org_slug or role):
        raise InputError("give either --org and --role, or --support")
    if not support and not (org_slug and role):
        raise InputError("--org and --role go together")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    org = accounts.organization_by_slug(org_slug) if org_slug else None
    user, generated = accounts.create_user(email, org=org, role=role, password=password)
    db.session.commit()
    click.echo(f"created user {user.email}" + (f" with password {generated}" if generated else ""))


@user_cli.command("grant-support-write")
@click.option("--email", required=True, help="Email of the support user.")
@click.option("--revoke", is_flag=True, help="Take the permission away (open sessions lose it at once).")
@one_line_errors
def user_grant_support_write(email, revoke):
    """Let a support user allow changes when viewing as an organization (users and credentials stay blocked)."""
    from portal.impersonation.service import set_write_permission

    user = set_write_permission(email, not revoke)
    db.session.commit()
    click.echo(f"{'revoked' if revoke else 'granted'} changes in support sessions for {user.email}")


@demo_cli.command("seed")
@click.option("--slug", default="demo")
@click.option("--email", default="owner@demo.example")
@one_line_errors
def demo_seed(slug, email):
    """Create the demo organization and its owner once; print the owner's credentials the first time."""
    from sqlalchemy import select

    from portal.models import Organization

    if db.session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        click.echo(f"demo organization '{slug}' already exists (owner {email})")
        return
    org = accounts.create_organization("Demo Restaurant Group", slug)
    password = generate_password()
    user, _ = accounts.create_user(email, org=org, role="owner", password=password)
    db.session.commit()
    click.echo(f"demo owner: {user.email}  password: {password}")


def register(app: Flask) -> None:
    from portal.guests.cli import guests_cli
    from portal.segments.cli import segments_cli
    from portal.sync.cli import toast_cli

    for group in (org_cli, user_cli, demo_cli, toast_cli, segments_cli, guests_cli):
        app.cli.add_command(group)
