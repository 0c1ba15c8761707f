"""What a run must send: the segment's contactable members against the sync's snapshot.

* **add**: a member not in the destination list (new, or back after leaving); upserted first unless the destination
  already holds exactly these values (a run killed between its upsert and its tag resumes with the tag only).
* **update**: a listed member whose sent values changed (the fingerprint differs).
* **remove**: a listed member this sync put there who left the segment, opted out or was erased.
Members the destination holds as unsubscribed or cleaned are never written again (never re-subscribed). A guest
whose only address is a delivery marketplace's relay (``contacts.is_relay_email``) cannot receive marketing: never
sent, counted as ``relay``, and taken out if an earlier run listed it.

The plan streams: who is wanted, who leaves and the snapshot are read up front (ids and addresses only), the
members' fields are read and compared ``READ_CHUNK`` at a time by ``changes()`` while earlier chunks are being sent,
so a first sync of 100,000 starts sending at once instead of after planning every member.
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator

from sqlalchemy import select

from portal.audiences import fields as guest_fields
from portal.audiences.snapshot import Member
from portal.contacts import is_relay_email
from portal.extensions import db
from portal.models import AudienceMember, AudienceSync, Guest
from portal.segments import service as segments

READ_CHUNK = 500
SILENT = ("unsubscribed", "cleaned")  # the member said no, or bounced: never written again


@dataclass(frozen=True)
class Change:
    row: guest_fields.MemberRow
    upsert: bool  # values to write: a new member, or changed values
    tag: bool  # to put in the list / tag


@dataclass
class Plan:
    sync: AudienceSync
    keys: list[str]
    wanted: list[int]  # guest ids to send or keep, in id order
    relay: int  # members left out: a relay address only
    state: dict  # guest id -> snapshot.Member, every snapshot row of the sync
    removals: list  # snapshot.Member to take out
    resent: set  # guest ids written by a run killed before it stored the answer
    touched: set  # guest ids this run stored before it was killed and resumed: counted already, not unchanged
    unchanged: int = 0  # grows as changes() reads the members
    to_send: int = 0  # changes found so far: the removals, then each add and update as changes() finds it

    @property
    def members(self) -> int:
        return len(self.wanted)

    def changes(self) -> Iterator[list[Change]]:
        """The changes among each ``READ_CHUNK`` of the wanted members (an empty list when none changed)."""
        for start in range(0, len(self.wanted), READ_CHUNK):
            found = []
            query = guest_fields.rows_query(self.sync.org_id, self.wanted[start:start + READ_CHUNK])
            for row in db.session.execute(query):
                change = self._change(guest_fields.member_row(row, self.keys))
                if change is None:
                    self.unchanged += row.id not in self.touched
                else:
                    found.append(change)
            self.to_send += len(found)
            yield found

    def _change(self, member: guest_fields.MemberRow) -> Change | None:
        known = self.state.get(member.guest_id)
        if known is not None and known.remote_status in SILENT:
            return None
        fresh = known is None or known.fingerprint != member.fingerprint
        if known is not None and known.remote_status == "rejected" and not fresh:
            return None  # refused before with these very values
        tag = known is None or not known.in_list
        return Change(member, fresh, tag) if fresh or tag else None


def contactable(sync: AudienceSync) -> list[tuple[int, str]]:
    """(guest id, email) of the segment's members who have an email and have not opted out or been erased."""
    members = segments.member_ids(sync.org_id, sync.segment.rules).subquery()
    return db.session.execute(
        select(Guest.id, Guest.email).where(Guest.id.in_(select(members.c.id)), Guest.org_id == sync.org_id,
                                            Guest.email.is_not(None), Guest.marketing_opt_out.is_(False),
                                            Guest.erased_at.is_(None)).order_by(Guest.id)).all()


def plan(sync: AudienceSync, keys: list[str], started_at: datetime,
         remote_id: Callable[[str], str] | None = None) -> Plan:
    """The plan of a run started at ``started_at``; its members' changes come from ``changes()``.
    ``remote_id(email)`` names a member in the destination when its address does (Mailchimp: the subscriber hash)."""
    state, resent, touched = {}, set(), set()
    for row in db.session.execute(
            select(AudienceMember.guest_id, AudienceMember.remote_id, AudienceMember.fingerprint,
                   AudienceMember.remote_status, AudienceMember.created_by_sync, AudienceMember.in_list,
                   AudienceMember.pending, AudienceMember.updated_at).where(AudienceMember.sync_id == sync.id)):
        state[row.guest_id] = Member(row.guest_id, row.remote_id, row.remote_status, row.created_by_sync,
                                     row.in_list, row.fingerprint)
        if row.pending:
            resent.add(row.guest_id)
        if row.updated_at >= started_at:
            touched.add(row.guest_id)
    members = contactable(sync)
    wanted = [(guest_id, email) for guest_id, email in members if not is_relay_email(email)]
    wanted_ids = {guest_id for guest_id, _ in wanted}
    # A guest merged into another keeps the destination member (same address): nothing to take out.
    wanted_remote = {remote_id(email) for _, email in wanted} if remote_id else set()
    removals = [known for guest_id, known in state.items()
                if guest_id not in wanted_ids and known.in_list and known.remote_id not in wanted_remote]
    return Plan(sync, keys, [guest_id for guest_id, _ in wanted], len(members) - len(wanted), state, removals,
                resent, touched, to_send=len(removals))
