"""tus 1.0.0 uploads as Cloudflare runs them: creation (201 + Location + stream-media-id), PATCH and HEAD."""

import base64
import binascii
import logging

from flask import Blueprint, Response, request
from werkzeug.exceptions import ClientDisconnected

from .auth import emulator, require_api_auth
from .envelope import CONFLICT, TOO_LARGE, ApiError, bad_request, failure, not_found
from .faults import drop_connection
from .processing import mark_queued
from .video_fields import scheduled_deletion
from .videos import format_timestamp, new_video_record, parse_timestamp, state_of, timestamp_now

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
MAX_UPLOAD_LENGTH = 30 * 1024**3
MIN_CHUNK = 5 * 1024 * 1024
MAX_CHUNK = 200 * 1024 * 1024
CHUNK_MULTIPLE = 256 * 1024
READ_BLOCK = 1024 * 1024
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION}

tus_api = Blueprint("tus_api", __name__)


def options_response():
    """The answer to an OPTIONS request on the creation URL."""
    headers = {
        **TUS_HEADERS,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": "creation",
        "Tus-Max-Size": str(MAX_UPLOAD_LENGTH),
    }
    return Response(status=204, headers=headers)


def _require_tus_version():
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise ApiError(
            412,
            10005,
            f"Tus-Resumable must be {TUS_VERSION}",
            headers={**TUS_HEADERS, "Tus-Version": TUS_VERSION},
        )


def parse_upload_metadata(header):
    """Upload-Metadata as a dict (key -> decoded string, or None for a bare flag); tolerates spaces."""
    metadata = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, encoded = pair.partition(" ")
        encoded = encoded.strip()
        try:
            value = (
                base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode("utf-8")
                if encoded
                else None
            )
        except (binascii.Error, UnicodeDecodeError):
            raise bad_request(f"Upload-Metadata value for {key} is not valid base64") from None
        metadata[key] = value
    return metadata


def _apply_metadata(record, metadata):
    for key, value in metadata.items():
        name = key.lower()
        if name == "name":
            record["meta"]["name"] = value or ""
        elif name == "requiresignedurls":
            record["requireSignedURLs"] = (value or "true").strip().lower() != "false"
        elif name == "allowedorigins":
            record["allowedOrigins"] = [
                origin.strip() for origin in (value or "").split(",") if origin.strip()
            ]
        elif name == "thumbnailtimestamppct":
            record["thumbnailTimestampPct"] = _number(key, value, float, 0, 1)
        elif name == "maxdurationseconds":
            record["maxDurationSeconds"] = _number(key, value, int, 1, 36000)
        elif name == "scheduleddeletion":
            record["scheduledDeletion"] = scheduled_deletion(value, record["created"])
        elif name == "expiry":
            record["uploadExpiry"] = _expiry(key, value)
        elif name != "watermark":  # watermark profiles are not emulated
            record["meta"][key] = value if value is not None else ""


def _expiry(key, value):
    try:
        return format_timestamp(parse_timestamp(value))
    except (TypeError, ValueError):
        raise bad_request(f"Upload-Metadata {key} must be an RFC3339 timestamp") from None


def _number(key, value, kind, low, high):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise bad_request(f"Upload-Metadata {key} must be a number") from None
    if not low <= number <= high:
        raise bad_request(f"Upload-Metadata {key} must be between {low} and {high}")
    return number


def create_upload(account_id):
    """Answer the tus creation POST: 201 with Location, stream-media-id and Tus-Resumable."""
    _require_tus_version()
    length = request.headers.get("Upload-Length", "")
    if not (length.isascii() and length.isdigit()):
        raise bad_request("Upload-Length (the file size in bytes) is required")
    if int(length) > MAX_UPLOAD_LENGTH:
        raise ApiError(413, TOO_LARGE, "Upload-Length exceeds the 30 GB maximum file size")
    record = new_video_record("pendingupload", size=int(length), uploadExpiry=timestamp_now(24 * 3600))
    record["_upload"] = {"length": int(length), "offset": 0}
    _apply_metadata(record, parse_upload_metadata(request.headers.get("Upload-Metadata")))
    if request.headers.get("Upload-Creator"):
        record["creator"] = request.headers["Upload-Creator"][:64]
    direct_user = request.args.get("direct_user", "").lower() == "true"
    record["_directUser"] = direct_user
    settings = emulator()
    record = settings.videos.add(record)
    settings.videos.source_path(record["uid"]).touch()
    uid = record["uid"]
    base = request.host_url.rstrip("/")
    location = (
        f"{base}/tus/{uid}?tusv2=true"
        if direct_user
        else f"{base}/client/v4/accounts/{account_id}/media/{uid}?tusv2=true"
    )
    log.info("tus upload %s created (%s bytes)", uid, length)
    headers = {
        **TUS_HEADERS,
        "Location": location,
        "stream-media-id": uid,
        "Access-Control-Expose-Headers": "Location, stream-media-id, Tus-Resumable",
    }
    if int(length) == 0:
        _complete(uid, 0)
    return Response(status=201, headers=headers)


def _upload_record(uid, direct_user):
    record = emulator().videos.get(uid)
    if record is None or "_upload" not in record or record.get("_directUser", False) != direct_user:
        raise ApiError(404, 10003, "Upload not found", headers={**TUS_HEADERS, "Cache-Control": "no-store"})
    if _expired(record):
        raise ApiError(410, 10003, "Upload expired", headers={**TUS_HEADERS, "Cache-Control": "no-store"})
    return record


def _expired(record):
    """An unfinished upload past its uploadExpiry takes no more bytes (Cloudflare answers 404/410)."""
    upload, expiry = record["_upload"], record.get("uploadExpiry")
    if not expiry or upload["offset"] >= upload["length"]:
        return False
    try:
        return parse_timestamp(expiry) <= parse_timestamp(timestamp_now())
    except ValueError:
        return False


def _complete(uid, length):
    settings = emulator()
    if settings.videos.mutate(uid, lambda record: mark_queued(record, length)) is not None:
        settings.processor.submit(uid)


def upload_status(uid, direct_user):
    """HEAD: the upload's offset and length, never cached."""
    _require_tus_version()
    upload = _upload_record(uid, direct_user)["_upload"]
    headers = {
        **TUS_HEADERS,
        "Upload-Offset": str(upload["offset"]),
        "Upload-Length": str(upload["length"]),
        "Cache-Control": "no-store",
    }
    return Response(status=200, headers=headers)


def _check_chunk(upload, offset, size):
    end = offset + size
    if end > upload["length"]:
        raise ApiError(413, TOO_LARGE, "The chunk runs past Upload-Length", headers=TUS_HEADERS)
    if size > MAX_CHUNK:
        raise ApiError(
            413, TOO_LARGE, "Chunk size must not exceed 200 MiB (209715200 bytes)", headers=TUS_HEADERS
        )
    if end < upload["length"]:
        if size < MIN_CHUNK:
            raise ApiError(
                400,
                10005,
                "Chunk size must be at least 5 MiB (5242880 bytes) except for the last chunk",
                headers=TUS_HEADERS,
            )
        if size % CHUNK_MULTIPLE:
            raise ApiError(400, 10005, "Chunk size must be a multiple of 256KiB", headers=TUS_HEADERS)


def receive_chunk(uid, direct_user):
    """PATCH: append the body at Upload-Offset, streaming it to disk in blocks; 204 with the new offset."""
    _require_tus_version()
    if request.mimetype != "application/offset+octet-stream":
        raise ApiError(
            415, 10005, "Content-Type must be application/offset+octet-stream", headers=TUS_HEADERS
        )
    offset_header = request.headers.get("Upload-Offset", "")
    if not (offset_header.isascii() and offset_header.isdigit()):
        raise bad_request("Upload-Offset is required")
    if request.content_length is None:
        raise ApiError(411, 10005, "Content-Length is required", headers=TUS_HEADERS)
    settings = emulator()
    lock = settings.upload_lock(uid)
    if not lock.acquire(blocking=False):
        raise ApiError(409, CONFLICT, "Another request is writing to this upload", headers=TUS_HEADERS)
    try:
        upload = _upload_record(uid, direct_user)["_upload"]
        if int(offset_header) != upload["offset"]:
            raise ApiError(
                409,
                CONFLICT,
                f"Upload-Offset must be {upload['offset']}",
                headers={**TUS_HEADERS, "Upload-Offset": str(upload["offset"])},
            )
        size = request.content_length
        _check_chunk(upload, upload["offset"], size)
        drop = settings.faults.take("drop_patch", request.path, "PATCH")
        wanted = min(size, drop.after_bytes) if drop is not None else size
        try:
            received = _write_body(settings.videos.source_path(uid), upload["offset"], wanted)
        except FileNotFoundError:  # the video was deleted since _upload_record found it
            raise not_found("Upload not found") from None
        new_offset = upload["offset"] + received
        completed = []
        if settings.videos.mutate(uid, lambda video: _advance(video, new_offset, completed)) is None:
            raise not_found("Upload not found")
    finally:
        lock.release()
    if completed:  # whatever happens to this connection, the bytes are all in
        settings.processor.submit(uid)
    if drop is not None and drop_connection():
        log.info("Dropped PATCH to %s after %s bytes (fault)", uid, received)
        return Response(status=204)
    if received < size:
        return failure(400, 10005, "The request body ended early", TUS_HEADERS)
    return Response(status=204, headers={**TUS_HEADERS, "Upload-Offset": str(new_offset)})


def _advance(video, new_offset, completed):
    """Move the offset; the PATCH that brings in the last byte (and only it) queues the video."""
    video["_upload"]["offset"] = new_offset
    if new_offset == video["_upload"]["length"] and state_of(video) == "pendingupload":
        mark_queued(video, new_offset)
        completed.append(True)


def _write_body(path, offset, wanted):
    received = 0
    with open(path, "r+b") as target:
        target.seek(offset)
        while received < wanted:
            try:
                block = request.stream.read(min(READ_BLOCK, wanted - received))
            except ClientDisconnected:
                break
            if not block:
                break
            target.write(block)
            received += len(block)
    return received


@tus_api.route("/client/v4/accounts/<account_id>/media/<uid>", methods=["PATCH", "HEAD"])
def account_upload(account_id, uid):
    """PATCH/HEAD on the upload URL handed out by creation (needs the bearer token)."""
    require_api_auth()
    return receive_chunk(uid, False) if request.method == "PATCH" else upload_status(uid, False)


@tus_api.route("/tus/<uid>", methods=["PATCH", "HEAD"])
def direct_user_upload(uid):
    """PATCH/HEAD on a direct_user upload URL (no token: the URL itself is the permission)."""
    return receive_chunk(uid, True) if request.method == "PATCH" else upload_status(uid, True)
