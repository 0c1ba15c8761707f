"""No guest PII in logs or error pages: representative flows run with every logger at DEBUG."""
import logging

import pytest
from sqlalchemy import text

from portal.extensions import db
from portal.privacy import logs as privacy_logs
from tests.guests.builders import check, customer, ingest, order, simple

FIRST, LAST, EMAIL, PHONE_RAW, PHONE = "Zebulon", "Quixotic", "zeb.quix@example.com", "617 555 0143", "+16175550143"
PII = (FIRST, LAST, EMAIL, PHONE, "6175550143", "555 0143", "zeb.quix")


def assert_clean(caplog, *texts):
    everything = [caplog.text, *texts]
    for record in caplog.records:
        everything.append(record.getMessage())
        everything.append(repr(record.__dict__))
    joined = "\n".join(everything).lower()
    leaked = [value for value in PII if value.lower() in joined]
    assert not leaked, f"PII in logs or pages: {leaked}"


@pytest.fixture
def debug_logs(caplog, monkeypatch):
    """Every logger at DEBUG (the root level; loggers with their own level keep it, as in production), and none
    disabled: the test database's Alembic upgrade (fileConfig) disables the loggers that existed before it."""
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)
    caplog.set_level(logging.DEBUG)
    return caplog


def test_sync_pages_search_export_and_erasure_log_no_pii(web, world, owner, session, debug_logs):
    ingest(world.location, order(check(25, customer(email=EMAIL, phone=PHONE_RAW, first=FIRST, last=LAST,
                                                    guid="cust-zeb")), channel="delivery",
                                 delivery={"address1": "9 Elm St", "city": "Boston"}))
    ingest(world.other_location, simple(phone=PHONE_RAW, first=FIRST, last=LAST, amount=12))
    guest = world.guest(f"e:{EMAIL}")
    web.login(owner)
    pages = []
    for url in ("/guests/", f"/guests/?q={EMAIL}", f"/guests/?q={FIRST}", f"/guests/?q={PHONE}",
                f"/guests/{guest.id}", f"/guests/{guest.id}/timeline", "/guests/export.csv"):
        response = web.client.get(url, headers={"HX-Request": "true"} if "q=" in url else {})
        assert response.status_code == 200, url
    pages.append(web.htmx_post(f"/guests/{guest.id}/marketing", {"opt_out": "on"}).get_data(as_text=True))
    assert web.post(f"/guests/{guest.id}/erase", {"confirm": "ERASE"}).status_code == 303
    ingest(world.location, simple(email=EMAIL, first=FIRST, last=LAST))  # refused silently: anonymous
    # SQL logging would carry all of the above in parameters and rows: it stays off even with the root at DEBUG.
    assert not logging.getLogger("sqlalchemy.engine").isEnabledFor(logging.INFO)
    assert_clean(debug_logs, *pages)


def test_error_pages_do_not_echo_submitted_pii(web, world, owner, session, debug_logs):
    ingest(world.location, simple(email=EMAIL, first=FIRST, last=LAST))
    guest = world.guest(f"e:{EMAIL}")
    web.login(owner)
    responses = [
        web.client.get(f"/guests/?q={EMAIL}&location=999999999"),  # 404: not a location of the organization
        web.client.get(f"/guests/999999999?email={EMAIL}&name={FIRST}"),
        web.client.post(f"/guests/{guest.id}/notes", data={"body": f"{FIRST} {LAST} {EMAIL}"}),  # no CSRF token
        web.post(f"/guests/{guest.id}/notes", {"body": f"{FIRST} {EMAIL} " * 400}),  # too long
        web.post(f"/guests/{guest.id}/erase", {"confirm": EMAIL}),
        web.post("/guests/unsubscribes", {"file": "x", "email": EMAIL}),
        web.client.post(f"/guests/{guest.id}/tags", data=f'{{"tag": "{EMAIL}"}}', content_type="application/json",
                        headers={"X-CSRFToken": web.token}),
    ]
    assert [r.status_code for r in responses] == [404, 404, 400, 303, 400, 400, 415]
    pages = [r.get_data(as_text=True) for r in responses]
    assert_clean(debug_logs, *pages)


def test_a_database_error_with_pii_in_its_parameters_neither_logs_nor_shows_them(web, world, owner, session,
                                                                                  debug_logs, monkeypatch):
    def failing_list_page(org_id, query):
        db.session.execute(text("SELECT no_such_column FROM guests WHERE email = :email"), {"email": query.q})

    monkeypatch.setattr("portal.guests.routes.list_page", failing_list_page)
    web.login(owner)
    response = web.client.get(f"/guests/?q={EMAIL}")
    session.rollback()
    assert response.status_code == 500
    assert "unhandled error" in debug_logs.text  # it was logged, with its traceback, but without the values
    assert_clean(debug_logs, response.get_data(as_text=True))


def test_access_log_lines_lose_query_strings_and_unsubscribe_tokens(app, debug_logs):
    access = logging.getLogger("werkzeug")
    line = f"GET /guests/?q={EMAIL}&sort=name HTTP/1.1"
    access.info('%s - - [%s] "%s" %s %s', "127.0.0.1", "23/Nov/2026 12:00:00", line, "200", "-")
    access.info('%s - - [%s] "%s" %s %s', "127.0.0.1", "23/Nov/2026 12:00:00", "POST /u/eyJhbGci.sig HTTP/1.1",
                "200", "-")
    logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s',
                                              {"h": "10.0.0.1", "r": f"GET /guests/?q={PHONE} HTTP/1.1", "s": "200"})
    assert_clean(debug_logs)
    assert "/guests/?[redacted]" in debug_logs.text and "/u/[token]" in debug_logs.text
    assert "eyJhbGci" not in debug_logs.text
    assert privacy_logs.redact("GET /static/app.css HTTP/1.1") == "GET /static/app.css HTTP/1.1"
