"""Bulk actions on the guest list: tag or opt out the guests ticked on the page, or every guest the list's search
and filters match. A bulk action is confirmed first (``count`` says how many guests it will touch), then applied
in one transaction under the organization's lock; the caller commits.
"""
from dataclasses import dataclass

from sqlalchemy import Select, exists, func, insert, literal, select

from portal.audit import service as audit
from portal.dbutil import lock_organization
from portal.errors import InputError
from portal.extensions import db
from portal.guests.queries import ListQuery, filtered
from portal.guests.service import clean_tag
from portal.models.base import utcnow
from portal.models.guest import Guest
from portal.models.guest_links import GuestTag
from portal.privacy import consent

MAX_SELECTED = 500  # ticked on pages of 50; "all matching" has no limit
ACTIONS = {"tag": "Tag", "opt_out": "Opt out of marketing", "segment": "Add to a segment"}


@dataclass(frozen=True)
class Target:
    """Which guests an action touches: the ticked ids, or every guest the list query matches."""

    query: ListQuery
    ids: tuple[int, ...] = ()
    everyone: bool = False

    @classmethod
    def from_form(cls, form) -> "Target":
        """InputError when nothing is ticked (and not "all matching") or too many ids are sent."""
        query = ListQuery.from_args(form)
        if form.get("scope") == "all":
            return cls(query=query, everyone=True)
        ids = tuple(sorted({int(v) for v in form.getlist("guest") if v.isdigit()}))
        if not ids:
            raise InputError("Tick at least one guest, or choose all guests matching the list.")
        if len(ids) > MAX_SELECTED:
            raise InputError(f"At most {MAX_SELECTED} ticked guests at once; choose all matching guests instead.")
        return cls(query=query, ids=ids)

    def guest_ids(self, org_id: int) -> Select:
        """``select(Guest.id)`` of the target, always within the organization (a foreign id matches nothing)."""
        stmt = filtered(org_id, self.query) if self.everyone else select(Guest).where(
            Guest.org_id == org_id, Guest.id.in_(self.ids))
        return stmt.with_only_columns(Guest.id).where(Guest.erased_at.is_(None))


def count(org_id: int, target: Target) -> int:
    return db.session.scalar(select(func.count()).select_from(target.guest_ids(org_id).subquery()))


def tag(org_id: int, target: Target, text: str, user_id: int | None) -> int:
    """Tag the target's guests (those that already carry the tag keep it); returns how many were tagged.
    InputError on an empty or too long tag. Audited "guests.tagged" with the tag and the count."""
    name = clean_tag(text)
    lock_organization(db.session, org_id)
    ids = target.guest_ids(org_id).where(~exists().where(GuestTag.guest_id == Guest.id, GuestTag.tag == name))
    rows = ids.with_only_columns(literal(org_id), Guest.id, literal(name), literal(user_id), literal(utcnow()))
    added = len(db.session.execute(insert(GuestTag).from_select(
        ["org_id", "guest_id", "tag", "created_by_id", "created_at"], rows).returning(GuestTag.id)).all())
    audit.record("guests.tagged", org_id=org_id, details={"tag": name, "guests": added})
    db.session.flush()
    return added


def opt_out(org_id: int, target: Target) -> int:
    """Opt the target's guests out of marketing (portal.privacy.consent); returns how many changed."""
    ids = list(db.session.scalars(target.guest_ids(org_id).order_by(Guest.id)))
    return consent.opt_out_guests(org_id, ids, source="bulk")
