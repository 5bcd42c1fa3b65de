"""Signed playback for one caller: the player URL, thumbnails, captions' default track, the SDK script.

Only call these for a video the access policy says the caller may play (`access.can_watch`).
Tokens are minted locally by the Stream client (no API call per view) and end a few minutes
inside Cloudflare's 24 h cap (PLAYBACK_TOKEN_MAX_SECONDS).
"""

import re
import time
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


def signed_player(asset, user_id, expiry_seconds, start_time=0, caption_language=None):
    """Mint a token for this viewer and build the iframe URL (plain, and with player options)."""
    client = get_client()
    try:
        token = client.sign_token(asset.stream_video_id, expiry_seconds=expiry_seconds, user_id=user_id)
        return SignedPlayer(
            access_url=client.iframe_url(token),
            iframe_url=client.iframe_url(token, player_options(start_time, caption_language)),
            expires_in=int(expiry_seconds),
            token=token,
        )
    except (ValueError, StreamError) as error:
        raise PlaybackUnavailable(str(error)) from error


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
