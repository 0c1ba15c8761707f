"""All models, imported here so Alembic and the app see one metadata."""
from portal.models.tenant import Organization
from portal.models.user import ROLES, User

__all__ = ["Organization", "ROLES", "User"]
