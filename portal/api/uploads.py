"""The upload API: chunked sessions (initiate, chunk, finalize, progress, cancel), direct and URL uploads."""

import logging
import os

from flask import jsonify, request

from portal.api import bp
from portal.api.parsing import json_object
from portal.api.upload_limits import chunk_limit, per_user, raw_body, start_limit, status_limit
from portal.auth.access import api_login_required, api_user
from portal.errors import APIError
from portal.extensions import db, limiter
from portal.jobs.uploads import enqueue_copy, enqueue_push
from portal.models import MediaAsset, Role
from portal.services.uploads import UploadError, get_upload_service
from portal.services.uploads.urls import checked_source_url

log = logging.getLogger(__name__)

STAFF = (Role.ADMIN, Role.INSTRUCTOR)
PREFIX = "/media/upload-chunked"


def asset_json(asset):
    """An asset as the API shows it to its uploader."""
    return {
        "id": asset.id,
        "title": asset.title,
        "description": asset.description,
        "status": asset.status.value,
        "processing_error": asset.processing_error,
        "filename": asset.filename,
        "file_size_bytes": asset.file_size_bytes,
        "mime_type": asset.mime_type,
        "access_level": asset.access_level.value,
        "required_tier": asset.required_tier.value if asset.required_tier else None,
        "tags": asset.tags,
        "entity_type": asset.entity_type.value if asset.entity_type else None,
        "entity_id": asset.entity_id,
        "stream_video_id": asset.stream_video_id,
        "created_by": asset.created_by,
        "created_at": asset.created_at.isoformat() if asset.created_at else None,
    }


@bp.post(f"{PREFIX}/initiate")
@limiter.limit(start_limit, key_func=per_user)
@api_login_required(*STAFF)
def initiate_chunked_upload():
    """Start a chunked upload: the asset exists (`uploading`) from here on. 201 with the plan."""
    data = json_object()
    service = get_upload_service()
    user = api_user()
    key = request.headers.get("Idempotency-Key")
    replayed = service.idempotency.claim(user.id, key) if key is not None else None
    if replayed is not None:
        return jsonify(_initiated(service, service.session_for(replayed, user.id), user)), 201
    fields = {k: v for k, v in data.items() if k not in ("file_name", "file_size")}
    try:
        session = service.initiate_upload(data.get("file_name"), data.get("file_size"), user.id, fields)
        try:
            db.session.commit()
        except Exception:
            service.discard(session["upload_id"])
            raise
    except Exception:
        db.session.rollback()
        if key is not None:
            service.idempotency.release(user.id, key)
        raise
    if key is not None:
        service.idempotency.remember(user.id, key, session["upload_id"])
    return jsonify(_initiated(service, session, user)), 201


def _initiated(service, session, user):
    progress = service.get_upload_progress(session["upload_id"], user.id)
    return {
        "upload_id": session["upload_id"],
        "asset_id": session["asset_id"],
        "chunk_size": session["chunk_size"],
        "total_chunks": session["total_chunks"],
        "file_size": session["file_size"],
        "expires_at": progress["expires_at"],
    }


@bp.post(f"{PREFIX}/chunk")
@limiter.limit(chunk_limit, key_func=per_user)
@api_login_required()
def upload_chunk():
    """Receive one chunk: a raw octet-stream body (query upload_id, chunk_index) or multipart."""
    if request.mimetype == "multipart/form-data":
        part = request.files.get("chunk")
        if part is None:
            raise APIError(
                400, "missing_field", "Send the chunk's bytes in the 'chunk' field.", field="chunk"
            )
        part.stream.seek(0, os.SEEK_END)
        length = part.stream.tell()
        part.stream.seek(0)
        return _store_chunk(
            request.form.get("upload_id"), request.form.get("chunk_index"), part.stream, length
        )
    if request.mimetype != "application/octet-stream":
        raise APIError(
            415,
            "unsupported_media_type",
            "Send the chunk as application/octet-stream (or multipart/form-data).",
        )
    return _store_chunk(
        request.args.get("upload_id"), request.args.get("chunk_index"), raw_body(), request.content_length
    )


def _store_chunk(upload_id, index, source, length):
    if not upload_id:
        raise APIError(400, "missing_field", "'upload_id' is required.", field="upload_id")
    if index is None or index == "":
        raise APIError(400, "missing_field", "'chunk_index' is required.", field="chunk_index")
    service = get_upload_service()
    sha = request.headers.get("X-Chunk-SHA256")
    try:
        result = service.upload_chunk(upload_id, index, source, length, api_user().id, sha)
    except UploadError:
        db.session.commit()  # a first chunk in the wrong container fails its asset; nothing else changed
        raise
    return jsonify(result)


@bp.post(f"{PREFIX}/finalize")
@limiter.limit(start_limit, key_func=per_user)
@api_login_required()
def finalize_chunked_upload():
    """All chunks in: 202 and one push job (a second finalize starts nothing new); 409 if incomplete."""
    data = json_object()
    upload_id = data.get("upload_id")
    if not isinstance(upload_id, str) or not upload_id:
        raise APIError(400, "missing_field", "'upload_id' is required.", field="upload_id")
    service = get_upload_service()
    user = api_user()
    session, _ = service.finalize_upload(upload_id, user.id)
    db.session.commit()
    progress = service.get_upload_progress(upload_id, user.id)
    job_id = enqueue_push(upload_id) if progress["status"] != "complete" else None
    body = {
        "upload_id": upload_id,
        "asset_id": session["asset_id"],
        "status": progress["status"],
        "asset_status": progress["asset_status"],
        "job_id": job_id,
    }
    return jsonify(body), 202


@bp.get(f"{PREFIX}/<upload_id>/progress")
@limiter.limit(status_limit, key_func=per_user)
@api_login_required()
def chunked_upload_progress(upload_id):
    """Where an upload stands: received and missing chunks, bytes, percent, the asset's state."""
    return jsonify(get_upload_service().get_upload_progress(upload_id, api_user().id))


@bp.delete(f"{PREFIX}/<upload_id>")
@limiter.limit(start_limit, key_func=per_user)
@api_login_required()
def cancel_chunked_upload(upload_id):
    """Cancel an unfinished upload: its chunks are deleted at once, and its asset. 204."""
    get_upload_service().cancel_upload(upload_id, api_user().id)
    db.session.commit()
    return "", 204


@bp.post("/media/upload")
@limiter.limit(start_limit, key_func=per_user)
@api_login_required(*STAFF)
def direct_upload():
    """A whole file (up to 200 MB) as multipart `file` + metadata fields, streamed to disk. 201."""
    if request.mimetype != "multipart/form-data":
        raise APIError(415, "unsupported_media_type", "Send multipart/form-data with a 'file' field.")
    part = request.files.get("file")
    if part is None or not part.filename:
        raise APIError(400, "missing_field", "Send the video in the 'file' field.", field="file")
    part.stream.flush()
    fields = {k: v for k, v in request.form.items() if k not in ("file_name", "file_size")}
    session = get_upload_service().receive_direct_upload(
        part.stream.name, part.filename, api_user().id, fields
    )
    db.session.commit()
    job_id = enqueue_push(session["upload_id"])
    asset = db.session.get(MediaAsset, session["asset_id"])
    body = {
        "message": "Upload received; it is being sent to Stream.",
        "asset": asset_json(asset),
        "upload_id": session["upload_id"],
        "job_id": job_id,
    }
    return jsonify(body), 201


@bp.post("/media/upload-from-url")
@limiter.limit(start_limit, key_func=per_user)
@api_login_required(*STAFF)
def upload_from_url():
    """Ask Stream to copy a video from an https URL. 202 with the asset; a job makes the request."""
    data = json_object()
    url = checked_source_url(data.get("url"))
    fields = {k: v for k, v in data.items() if k != "url"}
    asset = get_upload_service().upload_from_url(url, api_user().id, fields)
    asset_id = asset.id
    db.session.commit()
    job_id = enqueue_copy(asset_id)
    body = {"asset_id": asset_id, "status": "uploading", "job_id": job_id, "asset": asset_json(asset)}
    return jsonify(body), 202
