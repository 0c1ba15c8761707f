"""All models, imported here so Alembic and the app see one metadata."""
from portal.models.audience import AudienceDestination, AudienceMember, AudienceRejection, AudienceRun, AudienceSync
from portal.models.audit import ACTIONS as AUDIT_ACTIONS, AuditEvent, Impersonation
from portal.models.guest import Guest, GuestCheck, GuestOrder
from portal.models.guest_links import GuestDistinctPair, GuestDuplicate, GuestFact, GuestItem, GuestLocation, GuestMerge, GuestNote, GuestTag
from portal.models.integration import CONNECTION_ACTIVE, CONNECTION_RECONNECT, Location, ToastConnection
from portal.models.orders import CheckPayment, CheckSelection, Order, OrderCheck
from portal.models.privacy import ErasedIdentifier, MarketingOptIn, MarketingSuppression
from portal.models.rollup import DashboardDay
from portal.models.scores import GuestScore, ModelFit
from portal.models.segment import Segment
from portal.models.sync import SyncBookmark, SyncRun, WebhookEvent
from portal.models.tenant import Organization
from portal.models.toast_config import DiningOption, Employee, MenuItem, RevenueCenter
from portal.models.user import ROLES, User

__all__ = [
    "CONNECTION_ACTIVE", "CONNECTION_RECONNECT", "CheckPayment", "CheckSelection", "DiningOption", "Employee",
    "Location", "MenuItem", "Order", "OrderCheck", "Organization", "ROLES", "RevenueCenter", "SyncBookmark",
    "SyncRun", "ToastConnection", "User", "WebhookEvent",
    "AUDIT_ACTIONS", "AuditEvent", "Impersonation",
    "Guest", "GuestCheck", "GuestDistinctPair", "GuestDuplicate", "GuestFact", "GuestItem", "GuestLocation", "GuestMerge", "GuestNote",
    "GuestOrder", "GuestTag",
    "Segment",
    "ErasedIdentifier",
    "MarketingSuppression", "MarketingOptIn",
    "AudienceDestination", "AudienceMember", "AudienceRejection", "AudienceRun", "AudienceSync",
    "GuestScore", "ModelFit",
    "DashboardDay",
]
