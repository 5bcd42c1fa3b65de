"""The portal as the library bench serves it under gunicorn: the real app plus one bare route.

The bare route goes through everything the app does on every request (session, signed-in user,
CSRF check, security headers) and nothing else, so "page ÷ bare" measures what the page adds.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from portal import create_app  # noqa: E402

app = create_app()


@app.route("/__bench__/bare")
def bare():
    """The baseline: the app's per-request work and a two-byte answer."""
    return "ok"
