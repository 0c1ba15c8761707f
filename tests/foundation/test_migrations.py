from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from portal import MIGRATIONS_DIR
from portal.dbutil import declared_for
from portal.extensions import db


def test_alembic_has_a_single_head():
    script = ScriptDirectory(MIGRATIONS_DIR)
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"


def test_migrations_build_exactly_the_models(app):
    """The session's database was built from empty by the migrations; the models must not differ from it."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False,
                                                         "include_object": declared_for(conn.dialect.name)})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_migrations_downgrade_to_empty_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        assert db.inspect(db.engine).get_table_names() in ([], ["alembic_version"])
        upgrade()
        assert "organizations" in db.inspect(db.engine).get_table_names()


def test_the_location_mask_migration_keeps_every_row_and_backfills_slots_and_masks(app, committed):
    from sqlalchemy import func, select, update

    from portal.models import Guest, GuestLocation, Location, Order
    from tests import factories

    first = factories.LocationFactory()
    second = factories.LocationFactory(connection=first.connection)
    order = Order(org_id=first.org_id, location_id=second.id, guid="order-1")
    guest = Guest(org_id=first.org_id, key="e:a@example.com")
    committed.add_all([order, guest])
    committed.flush()
    committed.add(GuestLocation(guest_id=guest.id, location_id=second.id, org_id=first.org_id, order_count=1))
    committed.execute(update(Location).values(slot=None))  # as before the migration: slots are its to give
    committed.commit()
    with app.app_context():
        downgrade(revision="0009")
        upgrade()
    committed.expire_all()
    assert committed.scalar(select(func.count(Order.id))) == 1  # nothing cascaded away on either database
    assert [first.slot, second.slot] == [0, 1]
    assert committed.get(Guest, guest.id).location_mask == 0b10
