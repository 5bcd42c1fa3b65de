"""Links that every page draws (the header's, the stylesheet): built once per app, not per page.

`url_for` costs about 15 µs a call, and the header alone asked for seven links on every page.
These links depend only on the endpoint, its arguments and the script root, none of which
changes while the app runs, so `page_url` builds each once and then reads it from a table.
"""

from flask import current_app, request, url_for


def page_url(endpoint, **values):
    """`url_for(endpoint, **values)`, from the app's table after the first call."""
    table = current_app.extensions["page_urls"]
    key = (request.script_root, endpoint, *sorted(values.items()))
    url = table.get(key)
    if url is None:
        url = table[key] = url_for(endpoint, **values)
    return url


def init_app(app):
    """Offer `page_url` to the templates."""
    app.extensions["page_urls"] = {}
    app.add_template_global(page_url)
