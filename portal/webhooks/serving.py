"""gunicorn hooks for the web processes (``gunicorn --config python:portal.webhooks.serving``, the Procfile's web
line). They live with the webhook receipt: it is the request the web tier must answer fastest, in bursts."""
from portal.webhooks.service import prepare_receipts


def post_worker_init(worker) -> None:
    """Before a web process takes its first request: its database connections are open and the webhook receipt's
    statement is compiled, so that a burst of receipts right after a deploy does not queue behind them."""
    prepare_receipts(worker.wsgi, connections=worker.cfg.threads)
