"""guests on SQLite: an FTS5 trigram index of search_name and email, so "name or email contains" reads an index
instead of every guest (PostgreSQL has pg_trgm since 0016). Triggers keep it in step with guests, firing only when
a name or an email changes (a figure update writes every column).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 09:55:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

INSERT_NEW = ("INSERT INTO guest_search(rowid, search_name, email) "
              "VALUES (new.id, new.search_name, coalesce(new.email, ''))")


def upgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    # It keeps its own copy of the text (rows deleted by rowid); an erasure blanks both columns, and the copy.
    op.execute("CREATE VIRTUAL TABLE guest_search USING fts5(search_name, email, tokenize='trigram')")
    op.execute("INSERT INTO guest_search(rowid, search_name, email) "
               "SELECT id, search_name, coalesce(email, '') FROM guests")
    op.execute(f"CREATE TRIGGER guest_search_insert AFTER INSERT ON guests BEGIN {INSERT_NEW}; END")
    op.execute("CREATE TRIGGER guest_search_delete AFTER DELETE ON guests BEGIN "
               "DELETE FROM guest_search WHERE rowid = old.id; END")
    op.execute("CREATE TRIGGER guest_search_update AFTER UPDATE OF search_name, email ON guests "
               "WHEN old.search_name IS NOT new.search_name OR old.email IS NOT new.email BEGIN "
               "DELETE FROM guest_search WHERE rowid = old.id; "
               f"{INSERT_NEW}; END")


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    for trigger in ('guest_search_update', 'guest_search_delete', 'guest_search_insert'):
        op.execute(f'DROP TRIGGER {trigger}')
    op.execute('DROP TABLE guest_search')
