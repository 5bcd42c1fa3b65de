"""The video endpoints under /client/v4/accounts/<account_id>/stream: upload, copy, get, edit, delete, list."""

import logging
from urllib.parse import urlsplit

from flask import Blueprint, request

from . import tus
from .auth import emulator, json_body, require_api_auth
from .envelope import TOO_LARGE, ApiError, bad_request, envelope, not_found
from .processing import mark_queued
from .video_fields import video_changes
from .videos import STATES, new_video_record, parse_timestamp, state_of

log = logging.getLogger(__name__)

MAX_BASIC_UPLOAD = 200 * 1024 * 1024
MULTIPART_SLACK = 1024 * 1024
MAX_LIST_LIMIT = 1000

stream_api = Blueprint("stream_api", __name__, url_prefix="/client/v4/accounts/<account_id>/stream")
stream_api.before_request(require_api_auth)


def find_video(uid):
    """The video's record, or Cloudflare's 404."""
    record = emulator().videos.get(uid)
    if record is None:
        raise not_found("Video not found")
    return record


@stream_api.post("", provide_automatic_options=False)
def create_video(account_id):
    """Start a tus upload (Tus-Resumable header) or take a basic multipart upload (field `file`)."""
    if "Tus-Resumable" in request.headers:
        return tus.create_upload(account_id)
    if (request.content_length or 0) > MAX_BASIC_UPLOAD + MULTIPART_SLACK:
        raise ApiError(413, TOO_LARGE, "Basic uploads are limited to 200 MB; use tus for larger files")
    if request.mimetype != "multipart/form-data" or "boundary" not in request.mimetype_params:
        raise ApiError(400, 10004, "Decoding Error: expected multipart/form-data with a `file` field")
    upload = request.files.get("file")
    if upload is None:
        raise bad_request("The multipart body must have a `file` field")
    settings = emulator()
    meta = {"name": upload.filename} if upload.filename else {}
    record = settings.videos.add(new_video_record("pendingupload", meta=meta))
    source = settings.videos.source_path(record["uid"])
    upload.save(source)
    size = source.stat().st_size
    if size > MAX_BASIC_UPLOAD:
        settings.videos.delete(record["uid"])
        raise ApiError(413, TOO_LARGE, "Basic uploads are limited to 200 MB; use tus for larger files")
    record = settings.videos.mutate(record["uid"], lambda video: mark_queued(video, size))
    settings.processor.submit(record["uid"])
    return envelope(settings.video_object(record))


@stream_api.route("", methods=["OPTIONS"])
def tus_options(account_id):
    """tus discovery: the version and the one extension Cloudflare documents (creation)."""
    return tus.options_response()


@stream_api.post("/copy")
def copy_video(account_id):
    """Create a video from a URL; the emulator downloads it in the background."""
    body = json_body()
    url = body.get("input") or body.get("url")
    if not _is_http_url(url):
        raise bad_request("url (or input) must be an http(s) URL")
    settings = emulator()
    record = new_video_record("downloading")
    changes = video_changes({key: value for key, value in body.items() if key != "meta"}, record)
    meta = body.get("meta") or {}
    if not isinstance(meta, dict):
        raise bad_request("meta must be an object")
    if body.get("name") and "name" not in meta:
        meta["name"] = body["name"]
    changes["meta"] = {**meta, "downloaded-from": url}
    if "Upload-Creator" in request.headers:
        changes["creator"] = request.headers["Upload-Creator"][:64]
    record.update(changes)
    record = settings.videos.add(record)
    settings.processor.submit_copy(record["uid"], url)
    return envelope(settings.video_object(record))


def _is_http_url(url):
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)


@stream_api.get("/<uid>")
def get_video(account_id, uid):
    """One video object."""
    return envelope(emulator().video_object(find_video(uid)))


@stream_api.post("/<uid>")
def edit_video(account_id, uid):
    """Edit a video's settable fields (Cloudflare edits with POST, not PATCH)."""
    body = json_body()
    record = find_video(uid)
    if "uid" in body and body["uid"] != uid:
        raise bad_request("The uid in the body does not match the video being edited")
    changes = video_changes(body, record)
    record = emulator().videos.update(uid, **changes)
    if record is None:
        raise not_found("Video not found")
    return envelope(emulator().video_object(record))


@stream_api.delete("/<uid>")
def delete_video(account_id, uid):
    """Delete a video and its files."""
    if not emulator().videos.delete(uid):
        raise not_found("Video not found")
    log.info("Deleted video %s", uid)
    return envelope("")


@stream_api.get("", provide_automatic_options=False)
def list_videos(account_id):
    """List videos, newest first, with Cloudflare's filters; adds top-level range and total."""
    args = request.args
    filters = _list_filters(args)
    matching = [record for record in emulator().videos.all() if _matches(record, filters)]
    matching.sort(key=lambda record: record["created"], reverse=args.get("asc", "false").lower() != "true")
    limit = _limit(args.get("limit"))
    shown = matching[:limit]
    result = [emulator().video_object(record) for record in shown]
    return envelope(result, range=len(shown), total=len(matching))


def _limit(value):
    if value is None:
        return MAX_LIST_LIMIT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIST_LIMIT:
        raise bad_request(f"limit must be an integer from 1 to {MAX_LIST_LIMIT}")
    return int(value)


def _moment(args, *names):
    for name in names:
        if args.get(name):
            try:
                return parse_timestamp(args[name])
            except ValueError:
                raise bad_request(f"{name} must be an RFC3339 timestamp") from None
    return None


def _list_filters(args):
    wanted = None
    if args.get("status"):
        wanted = {state.strip() for state in args["status"].split(",")}
        if not wanted <= set(STATES) | {"live-inprogress"}:
            raise bad_request(f"status must be one of {', '.join(STATES)}")
    ids = {uid.strip() for uid in args["id"].split(",")} if args.get("id") else None
    return {
        "after": _moment(args, "after", "start"),
        "before": _moment(args, "before", "end"),
        "states": wanted,
        "ids": ids,
        "creator": args.get("creator"),
        "search": (args.get("search") or "").lower(),
        "video_name": args.get("video_name"),
        "type": args.get("type", "vod"),
    }


def _matches(record, filters):
    created = parse_timestamp(record["created"])
    name = str(record["meta"].get("name", ""))
    return (
        (filters["after"] is None or created > filters["after"])
        and (filters["before"] is None or created < filters["before"])
        and (filters["states"] is None or state_of(record) in filters["states"])
        and (filters["ids"] is None or record["uid"] in filters["ids"])
        and (not filters["creator"] or record.get("creator") == filters["creator"])
        and filters["search"] in name.lower()
        and (not filters["video_name"] or filters["video_name"] == name)
        and filters["type"] == "vod"
    )
