"""The database token store shared by every process: one token request when several find the token expired."""
import threading
import time

from portal.sync.clients import DatabaseTokenStore
from portal.toast.auth import TokenManager
from tests import factories

KEY = "http://127.0.0.1:8899|client"


def manager(connection_id, logins):
    def login():
        logins.append(threading.get_ident())
        time.sleep(0.3)  # long enough that the other process finds the token missing meanwhile
        return {"token": {"accessToken": f"token-{len(logins)}", "expiresIn": 86400}}

    # A TokenManager per "process": separate thread locks, only the store (database + Redis lock) is shared.
    return TokenManager(KEY, login, store=DatabaseTokenStore(connection_id))


def test_two_processes_finding_no_token_request_one(app, committed, redis_conn):
    factories.bind(committed)
    connection = factories.ToastConnectionFactory()
    committed.commit()
    logins, tokens = [], []

    def run(token_manager):
        with app.app_context():
            tokens.append(token_manager.current().access_token)

    threads = [threading.Thread(target=run, args=(manager(connection.id, logins),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(logins) == 1 and tokens == ["token-1", "token-1"]
    with app.app_context():  # and a third process later reads it from the database
        assert manager(connection.id, logins).current().access_token == "token-1" and len(logins) == 1
