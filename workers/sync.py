"""Sync jobs (queue "sync"): one order page per job, one configuration refresh per location at a time, and the
periodic fan-outs. The engine is ``portal.sync``: ``steps`` (order pages through the paced scheduler),
``refresh`` (configuration), ``runs`` (starting runs)."""
from portal.sync import refresh, runs, steps
from portal.sync.scheduler import Task


def order_step_job(org_id: int, location_id: int) -> None:
    """Fetch and store the next order page of the location, then schedule its next one (or end its task)."""
    steps.serve(runs.scheduler(), Task(org_id, location_id))
    steps.dispatch_due()  # the next pages go now, not at the dispatcher's next tick


def refresh_config_job(location_id: int, run_id: int) -> None:
    """Refresh the location's configuration under its SyncRun (``portal.sync.refresh``)."""
    refresh.refresh_config(location_id, run_id)


def schedule_order_syncs() -> int:
    """Periodic (every 15 min): poll or resume the backfill of every active location."""
    return runs.start_due_order_runs()


def schedule_config_refresh() -> int:
    """Periodic (daily): configuration refresh of every active location."""
    return runs.start_config_refreshes()
