"""How to make one row of an organization for each URL parameter name (used by the cross-tenant matrix)."""
from tests import factories, guest_rows

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
}
