"""StreamClient: the portal's one client for Cloudflare Stream (or the emulator speaking its API)."""

import logging
import os
from urllib.parse import quote

from config import STREAM_DEFAULTS

from . import analytics, tus
from .captions import check_language, to_webvtt
from .errors import StreamError
from .fields import as_int, list_params, to_json_fields, to_tus_pairs
from .multipart import MultipartFileBody, content_type, new_boundary
from .settings import client_kwargs
from .tokens import (
    MAX_TOKEN_SECONDS,
    delivery_url,
    embed_html,
    load_signing_key,
    player_query,
    sign_token,
    thumbnail_url,
)
from .transport import StreamTransport, unwrap
from .webhooks import TOLERANCE_SECONDS, verify_webhook_signature

BASIC_UPLOAD_LIMIT = 200_000_000  # Cloudflare: basic uploads must be under 200 MB

log = logging.getLogger(__name__)


class StreamClient:
    """Cloudflare Stream's REST API, tus uploads, signed playback URLs and webhook checks."""

    def __init__(
        self,
        *,
        api_base,
        account_id,
        api_token,
        customer_base_url,
        signing_key_id=None,
        signing_key_pem=None,
        webhook_secret=None,
        timeout=STREAM_DEFAULTS["STREAM_HTTP_TIMEOUT"],
        max_retries=STREAM_DEFAULTS["STREAM_MAX_RETRIES"],
        backoff_base=0.5,
        tus_chunk_size=STREAM_DEFAULTS["STREAM_TUS_CHUNK_SIZE"],
        graphql_url=STREAM_DEFAULTS["CLOUDFLARE_GRAPHQL_URL"],
        sleep=None,
        session=None,
    ):
        self.api_base = api_base.rstrip("/")
        self.account_id = account_id
        self.customer_base_url = (customer_base_url or "").rstrip("/")
        self.signing_key_id = signing_key_id
        self.signing_key = load_signing_key(signing_key_pem)
        self.webhook_secret = webhook_secret
        self.tus_chunk_size = tus.normalize_chunk_size(tus_chunk_size)
        self.graphql_url = graphql_url
        self.http = StreamTransport(api_token, float(timeout), max_retries, backoff_base, sleep, session)

    @classmethod
    def from_config(cls, config, **overrides):
        """Build a client from a config mapping (see settings.client_kwargs for the keys)."""
        return cls(**{**client_kwargs(config), **overrides})

    def __repr__(self):
        return f"<StreamClient {self.api_base} account={self.account_id}>"

    def close(self):
        """Release the HTTP session."""
        self.http.close()

    @property
    def stream_url(self):
        """`<api base>/accounts/<account>/stream`, the root of every Stream API path."""
        return f"{self.api_base}/accounts/{quote(self.account_id, safe='')}/stream"

    def _call(self, method, *parts, ok=(200,), whole=False, **kwargs):
        """One API call under /stream; returns the envelope's `result` (or the envelope)."""
        if any(str(p) in ("", ".", "..") for p in parts):  # requests would resolve them out of /stream
            raise ValueError(f"invalid Stream id in path: {parts!r}")
        url = "/".join([self.stream_url, *(quote(str(p), safe="") for p in parts)])
        return unwrap(method, url, self.http.request(method, url, ok=ok, **kwargs), whole)

    # -- uploads ---------------------------------------------------------------------------------

    def upload_video(self, file_path, metadata=None, progress_callback=None, on_created=None):
        """Upload a local video (basic multipart under 200 MB, tus above); return the video object.

        `on_created(upload_url, video_id)` is called as soon as a tus upload exists, so a job can
        persist the URL and resume it after a crash.
        """
        size = os.path.getsize(file_path)
        if size == 0:
            raise ValueError("cannot upload an empty file")
        metadata = dict(metadata or {})
        if not (metadata.get("name") or metadata.get("title")):
            metadata["name"] = os.path.basename(file_path)
        if size >= BASIC_UPLOAD_LIMIT:
            result = self.upload_file_tus(
                file_path, metadata=metadata, progress_callback=progress_callback, on_created=on_created
            )
            return self.get_video(result["video_id"])
        boundary, bodies = new_boundary(), []

        def body():
            """A fresh streamed body per attempt (the previous one is closed)."""
            for old in bodies:
                old.close()
            bodies.append(MultipartFileBody(file_path, boundary, progress_callback=progress_callback))
            return bodies[-1]

        try:
            video = self._call(
                "POST",
                ok=(200, 201),
                body=body,
                retry_network="connect",
                headers={"Content-Type": content_type(boundary)},
            )
        finally:
            for old in bodies:
                old.close()
        fields = to_json_fields(metadata)
        fields["meta"] = {**(video.get("meta") or {}), **fields.get("meta", {})}
        try:
            return self._call("POST", video["uid"], json=fields)
        except StreamError:
            # Basic uploads cannot carry requireSignedURLs; never leave an unprotected copy the caller cannot see.
            try:
                self.delete_video(video["uid"], missing_ok=True)
            except StreamError:
                log.warning("Could not delete video %s after its settings failed to apply", video["uid"])
            raise

    def upload_from_url(self, video_url, metadata=None):
        """Ask Stream to fetch a video from a public URL (`/stream/copy`); return the video object."""
        return self._call(
            "POST",
            "copy",
            ok=(200, 201),
            retry_network="connect",
            json={"url": video_url, **to_json_fields(metadata)},
        )

    def initiate_chunked_upload(self, file_size, metadata=None):
        """tus creation; returns {"upload_url": Location, "video_id": stream-media-id}."""
        pairs, creator = to_tus_pairs(metadata)
        return tus.create_upload(self.http, self.stream_url, file_size, pairs, creator)

    def upload_chunk(self, upload_url, chunk_data, offset):
        """PATCH one chunk at `offset`; returns the server's new offset (HEAD after 409 or a drop)."""
        return tus.patch_chunk(self.http, upload_url, chunk_data, offset)

    def get_upload_offset(self, upload_url):
        """The server's current offset for a tus upload (HEAD)."""
        return tus.head_upload(self.http, upload_url)[0]

    def upload_file_tus(
        self,
        file_path,
        upload_url=None,
        metadata=None,
        progress_callback=None,
        chunk_size=None,
        min_chunk=tus.MIN_CHUNK,
        on_created=None,
    ):
        """Upload a file over tus, creating the upload or resuming `upload_url` from HEAD's offset.

        Returns {"upload_url", "video_id" (None when resuming a URL), "bytes_uploaded"}.
        """
        video_id, offset = None, None
        if upload_url is None:
            created = self.initiate_chunked_upload(os.path.getsize(file_path), metadata)
            upload_url, video_id, offset = created["upload_url"], created["video_id"], 0
            if on_created:
                on_created(upload_url, video_id)
        done = tus.upload_file(
            self.http,
            file_path,
            upload_url,
            chunk_size or self.tus_chunk_size,
            min_chunk,
            progress_callback,
            offset,
        )
        return {"upload_url": upload_url, "video_id": video_id, "bytes_uploaded": done}

    # -- videos ----------------------------------------------------------------------------------

    def get_video(self, video_id):
        """The video object for a uid."""
        return self._call("GET", video_id)

    def update_video(self, video_id, changes):
        """Edit a video (POST /stream/<uid>); a title alone is merged into the current `meta`."""
        body = to_json_fields(changes)
        if "meta" in body and "meta" not in (changes or {}):
            body["meta"] = {**(self.get_video(video_id).get("meta") or {}), **body["meta"]}
        return self._call("POST", video_id, json={"uid": video_id, **body})

    def delete_video(self, video_id, missing_ok=False):
        """Delete a video; with missing_ok a 404 returns False instead of raising."""
        try:
            self._call("DELETE", video_id, headers={"Accept": "*/*"})
        except StreamError as exc:
            if missing_ok and exc.status_code == 404:
                return False
            raise
        return True

    def list_videos(self, filters=None):
        """List videos: {"videos": [...], "total": int|None, "range": int|None} (strings tolerated)."""
        envelope = self._call("GET", params=list_params(filters), whole=True) or {}
        return {
            "videos": envelope.get("result") or [],
            "total": as_int(envelope.get("total")),
            "range": as_int(envelope.get("range")),
        }

    # -- captions --------------------------------------------------------------------------------

    def upload_captions(self, video_id, caption_file, language, label=None):
        """Upload a .vtt or .srt track (SRT converted to WebVTT) as multipart `file`.

        Cloudflare names tracks itself from the language, so `label` stays with the caller.
        """
        check_language(language)
        files = {"file": (f"{language}.vtt", to_webvtt(caption_file), "text/vtt")}
        return self._call("PUT", video_id, "captions", language, files=files)

    def delete_captions(self, video_id, language):
        """Remove a caption track."""
        check_language(language)
        self._call("DELETE", video_id, "captions", language)
        return True

    def generate_captions(self, video_id, language):
        """Ask Stream to generate a track from the audio (ready videos only); returns the caption object."""
        check_language(language)
        return self._call("POST", video_id, "captions", language, "generate", ok=(200, 201))

    def list_captions(self, video_id):
        """The video's caption tracks."""
        return self._call("GET", video_id, "captions") or []

    # -- playback --------------------------------------------------------------------------------

    def sign_token(
        self,
        video_id,
        expiry_seconds=MAX_TOKEN_SECONDS,
        user_id=None,
        downloadable=False,
        access_rules=None,
        now=None,
    ):
        """A self-signed RS256 playback token for one video (no API call)."""
        return sign_token(
            video_id,
            self.signing_key_id,
            self.signing_key,
            expiry_seconds,
            user_id,
            downloadable,
            access_rules,
            now,
        )

    def generate_signed_url(
        self, video_id, expiry_seconds=MAX_TOKEN_SECONDS, user_id=None, downloadable=False, access_rules=None
    ):
        """`<customer base>/<TOKEN>/iframe` for a video that requires signed URLs."""
        token = self.sign_token(video_id, expiry_seconds, user_id, downloadable, access_rules)
        return self.iframe_url(token)

    def iframe_url(self, id_or_token, options=None):
        """The Stream Player URL for a uid or token, with player options as query parameters."""
        query = player_query(options)
        return delivery_url(self._customer_base(), id_or_token, "iframe") + (f"?{query}" if query else "")

    def hls_url(self, id_or_token):
        """The HLS manifest URL for a uid or token."""
        return delivery_url(self._customer_base(), id_or_token, "manifest/video.m3u8")

    def get_embed_code(self, video_id, signed_token=None, options=None):
        """Responsive iframe player HTML (Markup); the token replaces the uid when given."""
        options = dict(options or {})
        src = self.iframe_url(signed_token or video_id, options)
        return embed_html(src, title=options.get("title") or "Video player")

    def get_thumbnail_url(
        self,
        video_id,
        time_seconds=0,
        width=640,
        height=360,
        fit="crop",
        signed=False,
        expiry_seconds=MAX_TOKEN_SECONDS,
        user_id=None,
        token=None,
        animated=False,
    ):
        """Thumbnail URL at a time and size; signed (token in place of the uid) for protected videos."""
        if signed and token is None:
            token = self.sign_token(video_id, expiry_seconds, user_id)
        return thumbnail_url(
            self._customer_base(), token or video_id, time_seconds, width, height, fit, animated
        )

    def _customer_base(self):
        if not self.customer_base_url:
            raise StreamError("no customer domain configured (CLOUDFLARE_STREAM_CUSTOMER_CODE)")
        return self.customer_base_url

    # -- analytics and webhooks ------------------------------------------------------------------

    def get_video_analytics(self, video_id, since, until):
        """Minutes viewed for one video between two dates, from the GraphQL Analytics API."""
        body = analytics.minutes_viewed_request(self.account_id, video_id, since, until)
        resp = self.http.request("POST", self.graphql_url, json=body)
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        return analytics.parse_minutes_viewed(payload, video_id, since, until)

    def get_account_minutes_viewed(self, since, until, dimension="uid"):
        """The account's minutes viewed between two dates, as {uid: minutes} or {date: minutes}."""
        body = analytics.account_minutes_request(self.account_id, since, until, dimension)
        resp = self.http.request("POST", self.graphql_url, json=body)
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        return analytics.parse_account_minutes(payload, dimension)

    def verify_webhook_signature(
        self, payload, signature_header, webhook_secret=None, now=None, tolerance=TOLERANCE_SECONDS
    ):
        """True for a raw body signed with the webhook secret within ±tolerance s; never raises."""
        return verify_webhook_signature(
            payload, signature_header, webhook_secret or self.webhook_secret, now, tolerance
        )

    def set_webhook(self, url):
        """Subscribe the account's one webhook URL; returns the (rotated) signing secret."""
        result = self._call("PUT", "webhook", json={"notificationUrl": url}) or {}
        return result.get("secret")

    def get_webhook(self):
        """The webhook subscription {"notificationUrl", "secret", "modified"}, or None if none."""
        try:
            result = self._call("GET", "webhook")
        except StreamError as exc:
            if exc.status_code == 404:
                return None
            raise
        if isinstance(result, dict) and "notificationUrl" not in result and "notification_url" in result:
            result = {**result, "notificationUrl": result["notification_url"]}
        return result or None

    def delete_webhook(self):
        """Remove the webhook subscription."""
        self._call("DELETE", "webhook")
        return True

    # -- signing keys ----------------------------------------------------------------------------

    def create_signing_key(self):
        """Create a signing key: {"id", "pem" (base64 PEM), "jwk", "created"}; shown only once."""
        return self._call("POST", "keys", ok=(200, 201))

    def list_signing_keys(self):
        """The account's signing keys: [{"id", "created"}]."""
        return self._call("GET", "keys") or []

    def delete_signing_key(self, key_id):
        """Revoke a signing key and every token signed with it."""
        self._call("DELETE", "keys", key_id)
        return True
