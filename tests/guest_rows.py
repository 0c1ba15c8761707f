"""Guest rows of one organization for the cross-tenant matrix (tests/tenancy_rows.py)."""
import itertools

from portal.extensions import db
from portal.models import Guest, GuestDuplicate, GuestMerge, GuestTag

_numbers = itertools.count(1)


def guest(org, email: str | None = None) -> Guest:
    email = email or f"guest{next(_numbers)}@example.com"
    row = Guest(org_id=org.id, key=f"e:{email}", email=email, has_email=True, first_name="Row", last_name="Maker")
    db.session.add(row)
    db.session.flush()
    return row


def tag(org) -> GuestTag:
    row = GuestTag(org_id=org.id, guest_id=guest(org).id, tag="vip")
    db.session.add(row)
    db.session.flush()
    return row


def duplicate(org) -> GuestDuplicate:
    first, second = guest(org), guest(org)
    row = GuestDuplicate(org_id=org.id, guest_id=first.id, other_guest_id=second.id, reason_kind="phone",
                         reason_value="+16175550101")
    db.session.add(row)
    db.session.flush()
    return row


def merge(org) -> GuestMerge:
    row = GuestMerge(org_id=org.id, email_a=f"a{next(_numbers)}@example.com", email_b=f"b{next(_numbers)}@example.com")
    db.session.add(row)
    db.session.flush()
    return row
