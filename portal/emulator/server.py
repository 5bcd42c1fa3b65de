"""The emulator as a real HTTP server: in a background thread (tests) or in the foreground (serve)."""

import logging
import threading
from pathlib import Path

from werkzeug.serving import make_server

from . import create_emulator_app

log = logging.getLogger(__name__)


def closing_on_hang_up(app):
    """The WSGI app, with each response closed however its body's iteration ends.

    werkzeug's server skips a response's close() when a client's reset reaches it while it drains
    the request after the body (a page navigating away from a thumbnail it just got), which leaves
    the file behind send_file open until the garbage collector finds it. A generator's finally runs
    on every exit: finished, abandoned half-read, or dropped with the failed connection.
    """

    def application(environ, start_response):
        iterable = app(environ, start_response)

        def body():
            try:
                yield from iterable
            finally:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()

        return body()

    return application


def threaded_server(host, port, app):
    """A threaded werkzeug server for `app`, bound now, whose responses always close (see above)."""
    return make_server(host, port, closing_on_hang_up(app), threaded=True)


class EmulatorServer:
    """A threaded werkzeug server bound at construction (so .url is known) and run by start()."""

    def __init__(self, state_dir, host="127.0.0.1", port=0, **app_kwargs):
        self.app = None
        self._server = threaded_server(host, port, self._dispatch)
        self.host = host
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self.api_base = f"{self.url}/client/v4"
        if app_kwargs.get("public_url") is None:
            app_kwargs["public_url"] = self.url
        self.app = create_emulator_app(state_dir, **app_kwargs)
        self._thread = None

    def _dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    @property
    def emulator(self):
        """The app's StreamEmulator (faults, videos, keys, webhooks)."""
        return self.app.extensions["stream_emulator"]

    def start(self):
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="stream-emulator", daemon=True
        )
        self._thread.start()
        log.info("Stream emulator listening on %s", self.url)
        return self

    def serve_forever(self):
        """Serve in the calling thread until interrupted, then clean up."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self.emulator.close()

    def stop(self):
        """Stop serving, close the socket and stop background work."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()
        self.emulator.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def serve(host="127.0.0.1", port=8788, state_dir="instance/stream-emulator", **app_kwargs):
    """Run the emulator in the foreground until Ctrl-C."""
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    server = EmulatorServer(state_dir, host=host, port=port, **app_kwargs)
    settings = server.emulator
    print(
        f"Stream emulator on {server.url}  (API base {server.api_base}, account {settings.account_id}, "
        f"token {settings.api_token}, state {Path(state_dir).resolve()})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("Stream emulator stopped")
