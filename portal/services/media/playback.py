"""Signed playback for one caller: the player URL, thumbnails, captions' default track, the SDK script.

Only call these for a video the access policy says the caller may play (`access.can_watch`).
Tokens are minted locally by the Stream client (no API call per view) and end a few minutes
inside Cloudflare's 24 h cap (PLAYBACK_TOKEN_MAX_SECONDS).
"""

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from portal.models import MediaAccessLevel
from portal.services.stream import StreamError, get_client, tokens

URL_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")
CLOUDFLARE_SDK_URL = "https://embed.cloudflarestream.com/embed/sdk.latest.js"
THUMBNAIL_BUCKET_SECONDS = 3600


class PlaybackUnavailable(RuntimeError):
    """Tokens cannot be minted: no signing key or no customer domain configured."""


@dataclass(frozen=True)
class SignedPlayer:
    """A signed iframe URL for one caller and one video, and how long its token lives."""

    access_url: str
    iframe_url: str
    expires_in: int
    token: str


def token_lifetime(config, requested=None):
    """Seconds a new token lives: the request (or PLAYBACK_TOKEN_SECONDS), never past the cap."""
    cap = int(config["PLAYBACK_TOKEN_MAX_SECONDS"])
    wanted = int(config["PLAYBACK_TOKEN_SECONDS"] if requested is None else requested)
    return max(1, min(wanted, cap))


def player_options(start_time=0, caption_language=None):
    """Stream Player options: resume at `start_time`, captions in the viewer's language."""
    options = {}
    if start_time and start_time >= 1:
        options["startTime"] = f"{int(start_time)}s"
    if caption_language:
        options["defaultTextTrack"] = caption_language
    return options


def signed_player(
    asset, user_id, expiry_seconds, start_time=0, caption_language=None, reuse_seconds=0, now=None
):
    """Mint a token for this viewer and build the iframe URL (plain, and with player options).

    With `reuse_seconds`, a token minted for the same viewer and video in the last `reuse_seconds`
    (at most a quarter of its life) is handed out again instead of signing a new one; `expires_in`
    is then what it has left. Only for callers the policy has just allowed to play the video.
    """
    client = get_client()
    try:
        token, expires_in = _viewer_token(
            client, asset.stream_video_id, user_id, expiry_seconds, reuse_seconds, now
        )
        return SignedPlayer(
            access_url=client.iframe_url(token),
            iframe_url=client.iframe_url(token, player_options(start_time, caption_language)),
            expires_in=expires_in,
            token=token,
        )
    except (ValueError, StreamError) as error:
        raise PlaybackUnavailable(str(error)) from error


# Tokens handed out again (signing one costs ~0.5 ms): (uid, user id, life) -> (signing key, token, exp).
# A token stays bound to its viewer (the user_id claim) and video; only who holds the same key gets it.
_reusable = OrderedDict()
_reusable_lock = threading.Lock()
REUSABLE_MAX = 4096


def _viewer_token(client, uid, user_id, expiry_seconds, reuse_seconds, now=None):
    """(token, seconds it has left): a reusable one with at least 3/4 of its life left, or a new one."""
    now = int(time.time() if now is None else now)
    lifetime = int(expiry_seconds)
    window = min(int(reuse_seconds or 0), lifetime // 4)
    key = (uid, user_id, lifetime)
    if window > 0:
        with _reusable_lock:
            entry = _reusable.get(key)
        # The same signing key (settings may change), and minted no more than `window` ago.
        if (
            entry is not None
            and entry[0] is client.signing_key
            and 0 <= lifetime - (entry[2] - now) <= window
        ):
            return entry[1], entry[2] - now
    token = client.sign_token(uid, expiry_seconds=lifetime, user_id=user_id, now=now)
    if window > 0:
        with _reusable_lock:
            _reusable[key] = (client.signing_key, token, now + lifetime)
            _reusable.move_to_end(key)
            while len(_reusable) > REUSABLE_MAX:
                _reusable.popitem(last=False)
    return token, lifetime


def caption_language_for(asset, accept_languages):
    """The caption track for the viewer's browser languages, best first: `[(language, quality)]`.

    An exact tag wins, else the same primary language (`fr-CH` takes `fr`, `pt` takes `pt-BR`).
    """
    tracks = {caption.language.lower(): caption.language for caption in asset.captions}
    if not tracks:
        return None
    for wanted, quality in sorted(accept_languages or (), key=lambda item: -item[1]):
        wanted = wanted.lower().replace("_", "-")
        if quality <= 0 or wanted == "*":
            continue
        if wanted in tracks:
            return tracks[wanted]
        primary = wanted.split("-")[0]
        for tag, language in tracks.items():
            if tag.split("-")[0] == primary:
                return language
    return None


@lru_cache(maxsize=8192)
def _thumbnail_token(client, uid, bucket, lifetime):
    # The same claims within an hour: one RSA signature per video per hour per process, and URLs
    # the browser can cache. These tokens carry no user id; they go only to callers who may play.
    return client.sign_token(uid, expiry_seconds=lifetime, now=bucket)


class Thumbnails:
    """Card thumbnails for one request: by uid when public, by a shared hourly token otherwise."""

    def __init__(self, config, width=480, height=270):
        self.client = get_client()
        self.base = self.client.customer_base_url
        self.lifetime = token_lifetime(config, config["THUMBNAIL_TOKEN_SECONDS"])
        self.bucket = int(time.time()) // THUMBNAIL_BUCKET_SECONDS * THUMBNAIL_BUCKET_SECONDS
        self.size = (width, height)
        self.query = f"time=0s&width={width}&height={height}&fit=crop"

    def url(self, asset):
        """The thumbnail URL of a video the caller may play (None without a uid or a signing key)."""
        if not asset.stream_video_id or not self.base:
            return None
        id_or_token = asset.stream_video_id
        if asset.access_level != MediaAccessLevel.PUBLIC:
            try:
                id_or_token = _thumbnail_token(self.client, asset.stream_video_id, self.bucket, self.lifetime)
            except (ValueError, StreamError):
                return None  # no signing key: the card shows its placeholder
        if not URL_SAFE.match(id_or_token):
            return tokens.thumbnail_url(self.base, id_or_token, 0, *self.size)
        # uids and tokens (base64url and dots) need no quoting: skip urlencode on a hot path
        return f"{self.base}/{id_or_token}/thumbnails/thumbnail.jpg?{self.query}"


def sdk_script_url(config):
    """Stream's Player SDK script: Cloudflare's, or the emulator's at its customer domain."""
    if (config.get("STREAM_BACKEND") or "emulator").lower() == "cloudflare":
        return CLOUDFLARE_SDK_URL
    return get_client().customer_base_url + "/embed/sdk.latest.js"


def embed_code(asset, token=None):
    """Stream's embed HTML for staff: by uid for public videos, with a token otherwise."""
    client = get_client()
    return client.get_embed_code(asset.stream_video_id, signed_token=token, options={"title": asset.title})
