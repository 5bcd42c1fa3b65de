"""RQ jobs: importable by dotted path, given ids, run inside an app context."""

from functools import wraps

from flask import has_app_context


def in_app_context(job):
    """Run the job in the app context `flask worker` provides, or in a new app's when a plain
    `rq worker` runs it (the app is built from the environment, as wsgi.py does)."""

    @wraps(job)
    def run(*args, **kwargs):
        if has_app_context():
            return job(*args, **kwargs)
        from portal import create_app

        with create_app().app_context():
            return job(*args, **kwargs)

    return run
