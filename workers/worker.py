"""The RQ worker class: ``rq worker --with-scheduler -w workers.worker.AppWorker sync default models``.

It builds the app once and runs every job inside its app context, so jobs use the same settings,
database and logging as the web process.
"""
from rq import Worker

from portal import create_app
from portal.extensions import db


class AppWorker(Worker):
    def work(self, *args, **kwargs):
        self.app = create_app()
        with self.app.app_context():
            return super().work(*args, **kwargs)

    def main_work_horse(self, job, queue):
        # The work horse is a forked child: it must not reuse the parent's pooled database connections.
        db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)
