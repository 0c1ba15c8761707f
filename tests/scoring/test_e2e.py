"""End to end on the Toast sandbox: orders -> guest profiles -> fit (queued when the backfill finishes) -> scores.

The sandbox's guests follow a BG/NBD-like process (toast_sandbox/generator_people.py), so some stop coming
and others keep coming: the model must tell them apart from the orders alone.
"""
import threading
from collections import defaultdict

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.models import Guest, GuestOrder, GuestScore, ModelFit
from portal.models.base import utcnow
from portal.sync import runs
from tests.jobs import work
from tests.sync.conftest import connected  # noqa: F401 - the fixture, over this module's larger sandbox
from toast_sandbox.app import create_sandbox_app

HISTORY_DAYS = 120


@pytest.fixture
def sandbox():
    """Two restaurants with four months of history (the sync tests' sandbox has twelve days)."""
    app = create_sandbox_app(seed=11, restaurants=2, days=HISTORY_DAYS)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state = app.extensions["toast_sandbox"]
    state.base_url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()


def test_backfill_then_fit_scores_every_guest_and_stopped_guests_score_lower(connected, committed, redis_conn):
    org_id = connected["org"].id
    for location in connected["locations"]:
        runs.start(location, runs.CONFIG)
        runs.start(location, runs.BACKFILL, days=HISTORY_DAYS + 2)
    work(redis_conn)  # the backfill job queues the fit on "models" when it finishes; the burst runs it too

    fit = committed.scalar(select(ModelFit).where(ModelFit.org_id == org_id))
    assert fit is not None, "the end of the backfill did not fit the models"
    with_orders = committed.scalar(select(func.count(func.distinct(GuestOrder.guest_id))).where(
        GuestOrder.org_id == org_id, GuestOrder.counted.is_(True)))
    assert fit.guests == with_orders == committed.scalar(select(func.count()).where(GuestScore.org_id == org_id))
    assert fit.backed, fit.reason
    assert fit.repeat_guests >= 200 and fit.history_days >= 90

    today = utcnow().date()
    by_frequency = defaultdict(lambda: {"stopped": [], "still": []})
    rows = committed.execute(
        select(Guest.id, GuestScore.p_alive, Guest.last_order_at, func.count(func.distinct(func.date(GuestOrder.opened_at))))
        .join(GuestScore, GuestScore.guest_id == Guest.id).join(GuestOrder, GuestOrder.guest_id == Guest.id)
        .where(Guest.org_id == org_id, GuestOrder.counted.is_(True)).group_by(Guest.id, GuestScore.p_alive, Guest.last_order_at)
    ).all()
    for _, p_alive, last_order_at, days in rows:
        idle = (today - last_order_at.date()).days
        if days >= 2 and (idle >= 45 or idle <= 7):
            by_frequency[days - 1]["stopped" if idle >= 45 else "still"].append(p_alive)
    compared = {x: groups for x, groups in by_frequency.items() if groups["stopped"] and groups["still"]}
    assert len(compared) >= 2, dict(by_frequency)
    for x, groups in compared.items():
        stopped, still = groups["stopped"], groups["still"]
        assert sum(stopped) / len(stopped) < sum(still) / len(still), (x, stopped, still)


def test_a_new_tenants_twelve_week_backfill_gets_predictions_from_its_first_fit(connected, committed, redis_conn,
                                                                                app):
    """The onboarding a new tenant (and the demo) goes through: the default backfill, then the fit it queues."""
    org_id = connected["org"].id
    for location in connected["locations"]:
        runs.start(location, runs.CONFIG)
        runs.start(location, runs.BACKFILL)  # TOAST_BACKFILL_DAYS: 84
    work(redis_conn)

    fit = committed.scalar(select(ModelFit).where(ModelFit.org_id == org_id))
    assert app.config["TOAST_BACKFILL_DAYS"] == 84 and 80 <= fit.history_days <= 84
    assert fit.backed, fit.reason
    scored = committed.scalar(select(func.count()).where(GuestScore.org_id == org_id, GuestScore.p_alive.is_not(None),
                                                         GuestScore.predicted_value_12m_cents.is_not(None)))
    assert scored == fit.guests > 0
