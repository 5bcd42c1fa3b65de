"""RQ jobs: plain functions importable by dotted path, given ids, run by portal.worker.AppWorker.

The worker provides the app context (see portal/worker.py); jobs never build an app.
"""


def in_app_context(job):
    """Mark a function as a job that expects the app context the worker provides (returns it unchanged)."""
    return job
