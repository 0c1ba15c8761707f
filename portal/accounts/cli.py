"""``flask org ...``, ``flask user ...``, ``flask demo ...``. Errors are one line and exit non-zero."""
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.accounts import service as accounts
from portal.cli import one_line_errors, organization_by_slug
from portal.errors import InputError
from portal.extensions import db
from portal.models import Organization
from portal.passwords import generate_password

org_cli = AppGroup("org", help="Manage organizations (tenants).")
user_cli = AppGroup("user", help="Manage users.")
demo_cli = AppGroup("demo", help="Demo data for local runs.")


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
    org = organization_by_slug(org_slug) if org_slug else None
    user, generated = accounts.create_user(email, org=org, role=role, password=password)
    db.session.commit()
    click.echo(f"created user {user.email}" + (f" with password {generated}" if generated else ""))


@demo_cli.command("seed")
@click.option("--slug", default="demo")
@click.option("--email", default="owner@demo.example")
@one_line_errors
def demo_seed(slug, email):
    """Create the demo organization and its owner once; print the owner's credentials the first time."""
    if db.session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        click.echo(f"demo organization '{slug}' already exists (owner {email})")
        return
    org = accounts.create_organization("Demo Restaurant Group", slug)
    password = generate_password()
    user, _ = accounts.create_user(email, org=org, role="owner", password=password)
    db.session.commit()
    click.echo(f"demo owner: {user.email}  password: {password}")
