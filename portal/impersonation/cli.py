"""``flask user grant-support-write``: joins the ``user`` group in the app factory."""
import click
from flask.cli import with_appcontext

from portal.cli import one_line_errors
from portal.extensions import db
from portal.impersonation.service import set_write_permission


@click.command("grant-support-write")
@click.option("--email", required=True, help="Email of the support user.")
@click.option("--revoke", is_flag=True, help="Take the permission away (open sessions lose it at once).")
@with_appcontext
@one_line_errors
def grant_support_write(email, revoke):
    """Let a support user allow changes when viewing as an organization (users and credentials stay blocked)."""
    user = set_write_permission(email, not revoke)
    db.session.commit()
    click.echo(f"{'revoked' if revoke else 'granted'} changes in support sessions for {user.email}")
