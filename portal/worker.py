"""The RQ worker's entry: build the portal app once, run every job inside its app context.

`flask worker` runs AppWorker with the app the CLI built; a plain RQ worker works too:
`rq worker -w portal.worker.AppWorker --url $REDIS_URL default uploads webhooks` (the app is then
built from the environment, as wsgi.py does). Jobs themselves never import the factory.
"""

from rq import Worker

from portal import create_app
from portal.extensions import db


class AppWorker(Worker):
    """An RQ Worker whose jobs run inside the portal's app context (one database session per job)."""

    def __init__(self, *args, app=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app if app is not None else create_app()

    def perform_job(self, job, queue):
        """Run one job in a fresh app context; its database session is removed afterwards."""
        with self.app.app_context():
            try:
                return super().perform_job(job, queue)
            finally:
                db.session.remove()
