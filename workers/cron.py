"""Periodic jobs, one declarative list: ``rq cron workers/cron.py`` (Procfile ``clock``)."""
from rq import cron

from portal.jobs import DEFAULT
from workers.audiences import schedule_audience_runs, schedule_nightly_audience_runs
from workers.models import schedule_model_fits
from workers.sync import schedule_config_refresh, schedule_order_syncs
from workers.webhooks import prune_finished_events, requeue_pending_events

PERIODIC_JOBS = (
    # (function, queue, seconds between runs)
    (schedule_order_syncs, DEFAULT, 15 * 60),
    (schedule_config_refresh, DEFAULT, 24 * 3600),
    (requeue_pending_events, DEFAULT, 5 * 60),
    (prune_finished_events, DEFAULT, 24 * 3600),
    (schedule_model_fits, DEFAULT, 24 * 3600),  # one "models" job per organization
    (schedule_nightly_audience_runs, DEFAULT, 24 * 3600),  # every audience sync
    (schedule_audience_runs, DEFAULT, 5 * 60),  # after orders (debounced), stalled runs, Klaviyo opt-outs
)

for function, queue_name, interval in PERIODIC_JOBS:
    cron.register(function, queue_name=queue_name, interval=interval)
