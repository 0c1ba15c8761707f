"""Writing a run's snapshot rows: plain state per member and bulk statements, one per chunk."""
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, update

from portal.extensions import db
from portal.models import AudienceMember
from portal.models.base import utcnow


@dataclass
class Member:
    """What this run knows of one snapshot row, read by the plan as plain state. Written with bulk statements: ORM
    objects flushed per chunk (500 or 10,000 of them) cost a run more time than the destination's answers did."""
    guest_id: int
    remote_id: str | None = None
    remote_status: str | None = None
    created_by_sync: bool = False
    in_list: bool = False
    fingerprint: str | None = None


def by_key(*columns: str):
    """An UPDATE of ``columns`` of one snapshot row, for executemany (plain Core: no ORM bookkeeping per row)."""
    table = AudienceMember.__table__
    return (update(table).where(table.c.sync_id == bindparam("s"), table.c.guest_id == bindparam("g"))
            .values({name: bindparam(name) for name in columns}))


def mark_pending(sync_id: int, state: dict, rows: list[tuple[int, str | None]]) -> None:
    """(guest id, destination id) of the members about to be sent: marked pending, created when new."""
    fresh = [(gid, rid) for gid, rid in rows if gid not in state]
    for gid, rid in fresh:
        state[gid] = Member(gid, rid)
    if fresh:
        db.session.execute(insert(AudienceMember.__table__), [
            {"sync_id": sync_id, "guest_id": gid, "remote_id": rid, "pending": True, "created_by_sync": False,
             "in_list": False, "updated_at": utcnow()} for gid, rid in fresh])
    fresh_ids = {gid for gid, _ in fresh}
    known = [gid for gid, _ in rows if gid not in fresh_ids]
    if known:
        db.session.execute(by_key("pending"), [{"s": sync_id, "g": gid, "pending": True} for gid in known])


def store(sync_id: int, members: list[Member]) -> None:
    """The members as the destination answered, no longer pending."""
    now = utcnow()
    db.session.execute(by_key("remote_id", "remote_status", "fingerprint", "created_by_sync", "in_list", "pending",
                              "updated_at"), [
        {"s": sync_id, "g": m.guest_id, "remote_id": m.remote_id, "remote_status": m.remote_status,
         "fingerprint": m.fingerprint, "created_by_sync": m.created_by_sync, "in_list": m.in_list,
         "pending": False, "updated_at": now} for m in members])


def store_in_list(sync_id: int, members: list[Member]) -> None:
    """Whether each member is in the destination list / tag now."""
    if members:
        db.session.execute(by_key("in_list"), [{"s": sync_id, "g": m.guest_id, "in_list": m.in_list}
                                               for m in members])


def forget(sync_id: int, guest_id: int) -> None:
    """The snapshot row of a member gone from the destination for good."""
    db.session.execute(delete(AudienceMember).where(AudienceMember.sync_id == sync_id,
                                                    AudienceMember.guest_id == guest_id))
