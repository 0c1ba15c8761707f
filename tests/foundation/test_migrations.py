from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from portal import MIGRATIONS_DIR
from portal.extensions import db


def test_alembic_has_a_single_head():
    script = ScriptDirectory(MIGRATIONS_DIR)
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"


def test_migrations_build_exactly_the_models(app):
    """The session's database was built from empty by the migrations; the models must not differ from it."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_migrations_downgrade_to_empty_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        assert db.inspect(db.engine).get_table_names() in ([], ["alembic_version"])
        upgrade()
        assert "organizations" in db.inspect(db.engine).get_table_names()
