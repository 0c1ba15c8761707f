"""What every ``flask`` command shares: one-line errors and the organization named by ``--org``. The command
groups live in their feature packages (``portal/<feature>/cli.py``); the app factory registers them."""
from functools import wraps

import click
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from portal.dbutil import is_lock_error
from portal.errors import InputError
from portal.extensions import db
from portal.models import Organization

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


def organization_by_slug(slug: str) -> Organization:
    """The organization a command names; InputError when there is none."""
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        raise InputError(f"no organization with slug '{slug}'")
    return org
