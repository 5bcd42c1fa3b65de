"""A local Cloudflare Stream emulator: its own small Flask app speaking Stream's API over real HTTP.

API (Cloudflare's paths and envelope), under ``/client/v4/accounts/<account_id>/stream``, bearer token
required (401 with error code 10000 otherwise): tus creation/PATCH/HEAD (PATCH/HEAD at the returned
Location, ``.../media/<uid>?tusv2=true``), basic multipart upload, ``/copy``, get/edit (POST)/delete/list,
``/<uid>/captions``, ``/<uid>/downloads``, ``/keys``, ``/<uid>/token`` and ``/webhook``. GraphQL analytics at
``POST /client/v4/graphql`` (minutes viewed only: see api_graphql.py), counted from the segments and
progressive ranges the customer domain serves (see analytics.py) and kept with the state.

Customer domain at the server root: ``/<uid or token>/iframe``, ``/watch``, ``/manifest/video.m3u8``
(and ``video.mpd``), ``/thumbnails/thumbnail.jpg``, ``/downloads/default.mp4``; the Player API script
``/embed/sdk.latest.js`` (``window.Stream(iframe)``, speaking to the player page by postMessage: see embed.py).

Control paths (emulator only, never faulted, no auth):

- ``POST /__emulator__/faults`` arms a fault; each match uses one of its ``count`` (default 1; ``null``
  means for ever). ``path_prefix`` (default ``/client/v4``; ``/`` for drop_patch) and ``method``
  (optional) narrow it down::

      {"kind": "status", "status": 500, "count": 3}
      {"kind": "status", "status": 429, "retry_after": 2, "count": 1, "method": "PATCH"}
      {"kind": "delay", "seconds": 1.5, "count": 2, "path_prefix": "/client/v4"}
      {"kind": "drop_patch", "after_bytes": 1048576, "count": 1}

  ``drop_patch`` reads ``after_bytes`` of a tus PATCH body, keeps them (the upload offset advances, as
  on a real tus server) and closes the connection without any response.
- ``GET /__emulator__/faults`` lists armed faults; ``DELETE /__emulator__/faults`` disarms them all.
- ``POST /__emulator__/reset`` wipes videos, signing keys, the webhook subscription, the delivery log and the
  minutes viewed.
- ``GET /__emulator__/webhook-deliveries`` lists deliveries: url, videoUid, state, statusCode (last),
  attempts, delivered, finished, history.
- ``GET /__emulator__/health`` answers ``{"ok": true}``.

In Python the same lives on ``app.extensions["stream_emulator"]`` (``.faults.add(spec)``,
``.faults.clear()``, ``.reset()``, ``.webhooks.deliveries()``, ``.videos``, ``.keys``).
"""

import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from .analytics import count_delivered_minutes
from .envelope import NOT_FOUND, SERVER_ERROR, ApiError, api_error_response, failure
from .faults import apply_request_faults
from .runtime import StreamEmulator

log = logging.getLogger(__name__)

API_PREFIX = "/client/v4"


def create_emulator_app(
    state_dir,
    *,
    account_id="emulator-account",
    api_token="emulator-token",
    public_url=None,
    webhook_retry_delays=(1, 2, 4, 8, 16, 32),
):
    """Build the emulator app over `state_dir`; unfinished processing from an earlier run is resumed."""
    app = Flask(__name__)
    app.json.sort_keys = False
    emulator = StreamEmulator(
        state_dir,
        account_id=account_id,
        api_token=api_token,
        public_url=public_url,
        webhook_retry_delays=webhook_retry_delays,
    )
    app.extensions["stream_emulator"] = emulator
    app.before_request(apply_request_faults)
    app.after_request(count_delivered_minutes)
    register_blueprints(app)
    register_error_handlers(app)
    emulator.processor.resume()
    return app


def register_blueprints(app):
    """The API, GraphQL, tus, customer-domain and control blueprints."""
    from .api_captions import captions_api
    from .api_downloads import downloads_api
    from .api_graphql import graphql_api
    from .api_keys import keys_api
    from .api_videos import stream_api
    from .api_webhook import webhook_api
    from .control import control
    from .delivery import customer_domain
    from .embed import embed
    from .tus import tus_api

    for blueprint in (
        stream_api,
        captions_api,
        downloads_api,
        keys_api,
        webhook_api,
        graphql_api,
        tus_api,
        control,
        embed,
        customer_domain,
    ):
        app.register_blueprint(blueprint)


def register_error_handlers(app):
    """Cloudflare's failure envelope for every error under /client/v4."""
    app.register_error_handler(ApiError, api_error_response)

    @app.errorhandler(HTTPException)
    def http_error(error):
        """Routing and parsing errors: the envelope under /client/v4, werkzeug's page elsewhere."""
        if not request.path.startswith(API_PREFIX):
            return error
        code = NOT_FOUND if error.code == 404 else SERVER_ERROR if error.code >= 500 else 10005
        return failure(error.code, code, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        """A bug in the emulator: logged, answered as a 500 envelope."""
        log.exception("Unexpected error on %s %s", request.method, request.path)
        return failure(500, SERVER_ERROR, "Internal error in the stream emulator")
