"""Local, stateful sandboxes of the Mailchimp Marketing API v3 and the Klaviyo API, for ``make run``, the tests and
the benchmarks (never a mock: the portal's clients talk HTTP to them as they would to the vendors).

A development tool, not part of the portal: nothing under ``portal/`` or ``workers/`` imports it. ``flask audiences
sandbox`` reaches ``cli.sandbox_command`` through the ``tablecloth.audiences_commands`` entry point (pyproject.toml).
The parts of the vendors' published specs they follow are kept under ``tests/fixtures/audiences/``.
"""
from audiences_sandbox.klaviyo import create_klaviyo_app
from audiences_sandbox.limits import Limits
from audiences_sandbox.mailchimp import create_mailchimp_app

__all__ = ["Limits", "create_klaviyo_app", "create_mailchimp_app"]
