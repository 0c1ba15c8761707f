"""``flask segments ...``: segments from the command line. Errors are one line and exit non-zero."""
import json

import click
from flask.cli import AppGroup

from portal.accounts.service import organization_by_slug
from portal.cli import one_line_errors
from portal.segments import service

segments_cli = AppGroup("segments", help="Guest segments.")


@segments_cli.command("list")
@click.option("--org", "org_slug", required=True, help="Slug of the organization.")
@one_line_errors
def list_segments(org_slug):
    """Print the organization's segments as JSON: [{slug, name, member_count}]."""
    org = organization_by_slug(org_slug)
    click.echo(json.dumps(service.list_with_counts(org.id), indent=2))
