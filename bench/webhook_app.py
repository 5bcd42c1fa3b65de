"""The portal as `wsgi.py` builds it, plus one bare route, for bench_webhooks.py's comparison.

`/__bench__/bare` runs through the same app (its before/after-request hooks, security headers,
error handlers; CSRF-exempt like the webhook) but does no work of its own: what the webhook costs above it is its own.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from portal import create_app  # noqa: E402
from portal.extensions import csrf  # noqa: E402


def bare():
    """No work at all."""
    return "ok"


app = create_app()
app.add_url_rule("/__bench__/bare", "bench_bare", csrf.exempt(bare), methods=["POST"])  # as the webhook is
