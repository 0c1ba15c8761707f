"""A local Toast API sandbox: a generated restaurant group served over HTTP with Toast's quirks.

A development and demo tool (``make run``, the tests, the benchmarks), not part of the portal: nothing under
``portal/`` or ``workers/`` imports it. ``flask toast sandbox`` reaches ``cli.sandbox_command`` through the
``tablecloth.toast_commands`` entry point (pyproject.toml), loaded only when that command is used. Of the portal it
uses two leaf helpers only, so that it speaks Toast's formats exactly as the portal reads them:
``portal.toast.timefmt`` (Toast's timestamps) and ``portal.toast.signature.sign`` (webhook signatures).

Start with ``create_sandbox_app(seed=..., restaurants=..., days=..., now=...)``; its state
(``app.extensions["toast_sandbox"]``, a ``SandboxState``) exposes GUIDs, credentials and the mutation API.
``webhooks.send_order_updated`` / ``WebhookDispatcher`` send Toast-style signed ``order_updated`` events, and
``cli.sandbox_command`` serves a live world (``flask toast sandbox``).
"""
from toast_sandbox.app import create_sandbox_app
from toast_sandbox.clients import CRM_SCOPES, GROUP_CLIENT, LIMITED_CLIENT, PARTNER_CLIENT
from toast_sandbox.ratelimit import RateLimitConfig
from toast_sandbox.state import SandboxState
from toast_sandbox.webhooks import WebhookConfig, send_order_updated

__all__ = ["create_sandbox_app", "CRM_SCOPES", "GROUP_CLIENT", "LIMITED_CLIENT", "PARTNER_CLIENT", "RateLimitConfig",
           "SandboxState", "WebhookConfig", "send_order_updated"]
