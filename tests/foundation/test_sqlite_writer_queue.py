"""SQLite writers of ours queue in the kernel (portal.sqlite.WriterQueueConnection): the next writer gets the lock
the moment a transaction ends, a wait that runs out is SQLite's own busy error, and nothing keeps the lock after."""
import sqlite3
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from portal.dbutil import is_lock_error
from portal.extensions import db
from portal.sqlite import WriterQueueConnection


@pytest.fixture
def database(tmp_path):
    path = str(tmp_path / "queue.sqlite3")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, who TEXT)")
    setup.close()
    return path


def writer(path: str, timeout: float = 5.0) -> WriterQueueConnection:
    return sqlite3.connect(path, timeout=timeout, factory=WriterQueueConnection, isolation_level=None,
                           check_same_thread=False)


def begin_writing(connection: WriterQueueConnection) -> None:
    connection.join_writers()
    connection.execute("BEGIN IMMEDIATE")


def test_a_queued_writer_gets_the_lock_as_soon_as_the_holder_commits(database):
    holder, waiter = writer(database), writer(database)
    begin_writing(holder)
    holder.execute("INSERT INTO rows (who) VALUES ('holder')")
    got_it = []

    def wait_and_write():
        begin_writing(waiter)
        got_it.append(time.monotonic())
        waiter.execute("INSERT INTO rows (who) VALUES ('waiter')")
        waiter.commit()

    thread = threading.Thread(target=wait_and_write)
    thread.start()
    time.sleep(0.3)
    assert got_it == []  # still queued behind the holder
    committed = time.monotonic()
    holder.commit()
    thread.join(5)
    assert got_it and got_it[0] - committed < 1.0  # woken by the kernel, not by a poll (generous: a loaded machine)
    assert [row[0] for row in holder.execute("SELECT who FROM rows ORDER BY id")] == ["holder", "waiter"]


def test_a_wait_that_runs_out_is_sqlites_busy_error_and_leaves_no_lock_behind(database):
    holder, impatient, later = writer(database), writer(database, timeout=0.2), writer(database, timeout=0.5)
    begin_writing(holder)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError) as raised:
        begin_writing(impatient)
    assert 0.2 <= time.monotonic() - started < 3.0
    assert raised.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
    assert is_lock_error(OperationalError("BEGIN IMMEDIATE", {}, raised.value))
    holder.rollback()
    begin_writing(later)  # the impatient writer's abandoned wait released what it got at once
    later.execute("INSERT INTO rows (who) VALUES ('later')")
    later.commit()
    begin_writing(impatient)  # and the impatient one can queue again
    impatient.rollback()


def test_the_lock_is_held_only_for_a_write_transaction(database):
    first, second = writer(database, timeout=0.2), writer(database, timeout=0.2)
    first.execute("BEGIN")  # a reader
    first.execute("SELECT count(*) FROM rows").fetchall()
    begin_writing(second)  # readers do not queue
    second.execute("INSERT INTO rows (who) VALUES ('second')")
    second.commit()
    first.rollback()
    begin_writing(first)
    first.close()  # closing a writer frees the queue too
    begin_writing(second)
    second.rollback()


def test_the_apps_sqlite_connections_queue(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            assert isinstance(raw.driver_connection, WriterQueueConnection)
        finally:
            raw.close()


def test_a_writer_asking_again_at_once_lets_a_queued_one_go_first(database):
    """A drain commits and begins its next chunk at once; a receipt queued meanwhile still gets its turn."""
    drain, receipt = writer(database), writer(database)
    begin_writing(drain)
    order = []

    def receive():
        begin_writing(receipt)
        order.append("receipt")
        receipt.commit()

    thread = threading.Thread(target=receive)
    thread.start()
    time.sleep(0.2)  # the receipt is queued
    for _ in range(5):  # chunk after chunk, with no pause of its own
        drain.commit()
        begin_writing(drain)
        order.append("drain")
    drain.commit()
    thread.join(5)
    assert order.index("receipt") < 5, order  # without the courtesy pause it comes after every chunk
