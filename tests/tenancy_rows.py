"""How to make one row of an organization for each URL parameter name (used by the cross-tenant matrix)."""
import secrets

from portal.extensions import db
from portal.models import AudienceDestination, AudienceRun, AudienceSync
from tests import factories, guest_rows


def _destination(org) -> AudienceDestination:
    destination = AudienceDestination(org_id=org.id, kind="mailchimp", name="List", base_url="http://127.0.0.1:9/3.0",
                                      list_id="l1", api_key_enc="not-a-key", account_key=secrets.token_hex(8),
                                      webhook_token=secrets.token_urlsafe(16))
    db.session.add(destination)
    db.session.flush()
    return destination


def _audience_run(org) -> AudienceRun:
    sync = AudienceSync(org_id=org.id, segment=factories.SegmentFactory(organization=org), destination=_destination(org))
    run = AudienceRun(org_id=org.id, sync=sync, trigger="manual")
    db.session.add(run)
    db.session.flush()
    return run


ROW_MAKERS = {
    "user_id": lambda org: factories.UserFactory(organization=org, role="marketer").id,
    "org_id": lambda org: org.id,  # support's "view as" URL names the organization itself
    "connection_id": lambda org: factories.ToastConnectionFactory(organization=org).id,
    "location_id": lambda org: factories.LocationFactory(connection__organization=org).id,
    "guest_id": lambda org: guest_rows.guest(org).id,
    "tag_id": lambda org: guest_rows.tag(org).id,
    "duplicate_id": lambda org: guest_rows.duplicate(org).id,
    "merge_id": lambda org: guest_rows.merge(org).id,
    "segment_id": lambda org: factories.SegmentFactory(organization=org).id,
    "destination_id": lambda org: _destination(org).id,
    "run_id": lambda org: _audience_run(org).id,
}
