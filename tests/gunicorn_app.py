"""The portal as a test serves it under a real gunicorn: `tests.gunicorn_app:make_app()`.

The test passes its app's settings (database, Redis, upload folder) in PORTAL_TEST_OVERRIDES, so
the server and the test share one database and one Redis.
"""

import json
import os


def make_app():
    from config import TestConfig
    from portal import create_app

    return create_app(TestConfig, overrides=json.loads(os.environ["PORTAL_TEST_OVERRIDES"]))
