"""The Stream Player API script at the customer domain's root, and its player-page counterpart.

``/embed/sdk.latest.js`` defines ``window.Stream(iframe)`` with Cloudflare's documented Player API
surface (properties, play()/pause(), media events) for pages embedding the emulator's iframe, so
the portal's player code runs unchanged against Cloudflare and the emulator.
``/embed/player-bridge.js`` runs inside the emulator's player page and answers it by postMessage.
"""

from pathlib import Path

from flask import Blueprint, send_file

STATIC_DIR = Path(__file__).parent / "static"
SCRIPTS = {"sdk.latest.js", "player-bridge.js"}

embed = Blueprint("emulator_embed", __name__, url_prefix="/embed")


@embed.get("/<any(" + ", ".join(sorted(f'"{name}"' for name in SCRIPTS)) + "):name>")
def script(name):
    """One of the two scripts, as JavaScript, revalidated on each load (the emulator is for development)."""
    response = send_file(STATIC_DIR / name, mimetype="text/javascript", conditional=True, max_age=0)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
