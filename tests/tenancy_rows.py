"""How to make one row of an organization for each URL parameter name (used by the cross-tenant matrix)."""
from tests import factories

ROW_MAKERS = {
    "user_id": lambda org: factories.UserFactory(organization=org, role="marketer").id,
}
