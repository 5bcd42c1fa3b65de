"""UploadService: chunked upload sessions from initiate to finalize (the seed's service, every method)."""

import logging
import math
import os
import secrets
import shutil
import time
from datetime import UTC, datetime

from portal.extensions import db
from portal.models import MediaAsset, MediaAssetStatus
from portal.parsing import whole_number

from . import containers, direct, expiry, metadata
from .assets import new_asset
from .chunks import file_sha256, no_space, write_chunk
from .errors import UploadError, not_found
from .idempotency import InitiateKeys
from .store import SessionStore, chunk_name, expected_length

log = logging.getLogger(__name__)

COMPLETE_KEEP_SECONDS = 7 * 24 * 3600


class UploadService:
    """Chunked uploads for one app: sessions in Redis, chunks under UPLOAD_DIR, assets in the database."""

    def __init__(self, redis, config):
        self.config = config
        self.upload_dir = config["UPLOAD_DIR"]
        self.store = SessionStore(redis, self.upload_dir)
        self.idempotency = InitiateKeys(redis, config["UPLOAD_SESSION_TTL"])

    # -- initiate --------------------------------------------------------------------------------

    def initiate_upload(self, file_name, file_size, user_id, metadata_fields):
        """Check the metadata and the disk, create the asset (`uploading`) and the session.

        Returns the session. The caller commits; on a failed commit it calls `discard`.
        """
        fields = metadata.checked_metadata(
            {**metadata_fields, "file_name": file_name, "file_size": file_size},
            self.config["UPLOAD_MAX_FILE_SIZE"],
        )
        self.check_free_space(fields["file_size"])
        chunk_size = int(self.config["UPLOAD_CHUNK_SIZE"])
        return self.open_session(
            fields, user_id, chunk_size, math.ceil(fields["file_size"] / chunk_size), "chunked"
        )

    def open_session(self, fields, user_id, chunk_size, total_chunks, kind):
        """Create the asset (flushed), the session directory with its manifest, and the Redis index."""
        asset = new_asset(fields, user_id)
        upload_id = secrets.token_urlsafe(16)
        manifest = {
            "upload_id": upload_id,
            "user_id": user_id,
            "asset_id": asset.id,
            "file_name": fields["file_name"],
            "file_size": fields["file_size"],
            "chunk_size": chunk_size,
            "total_chunks": total_chunks,
            "extension": fields["extension"],
            "sha256": fields["sha256"],
            "kind": kind,
            "created_at": time.time(),
        }
        os.makedirs(self.upload_dir, exist_ok=True)
        try:
            self.store.create(manifest)
            asset.extra_metadata = {"upload_id": upload_id}
            db.session.add(asset)
            db.session.flush()
        except Exception as error:
            # nothing may outlive a failed initiate: a half-made session would be rebuilt later
            self.discard(upload_id)
            if isinstance(error, OSError) and error.errno in (28, 122):
                raise no_space() from None
            raise
        return self.store.load(upload_id)

    def check_free_space(self, file_size):
        """507 unless the disk holds this file on top of what uploads in flight still need."""
        os.makedirs(self.upload_dir, exist_ok=True)
        free = shutil.disk_usage(self.upload_dir).free
        needed = file_size + self.reserved_bytes() + int(self.config["UPLOAD_DISK_MARGIN"])
        if needed > free:
            raise UploadError(
                507,
                "insufficient_storage",
                "The portal does not have room for this file right now; try again later.",
                free_bytes=free,
            )

    def reserved_bytes(self):
        """Bytes the uploads in flight have yet to send."""
        total = 0
        for upload_id in self.store.active_ids():
            session = self.store.load(upload_id)
            if session and session["status"] == "uploading":
                total += session["file_size"] - bytes_received(session, self.store.received(session))
        return total

    def discard(self, upload_id):
        """Undo an initiate whose database commit failed."""
        shutil.rmtree(self.store.directory(upload_id), ignore_errors=True)
        self.store.forget(upload_id, 0, "cancelled")

    # -- sessions --------------------------------------------------------------------------------

    def session_for(self, upload_id, user_id):
        """The caller's session: 404 if unknown or another user's, 410 if cancelled or expired."""
        session = self.store.load(upload_id) if isinstance(upload_id, str) else None
        if session is None:
            gone = self.store.tombstone(upload_id) if isinstance(upload_id, str) else None
            if gone and gone[0] == user_id:
                raise UploadError(410, f"upload_{gone[1]}", f"This upload was {gone[1]}; start it again.")
            raise not_found()
        if session["user_id"] != user_id:
            raise not_found()
        return session

    # -- chunks ----------------------------------------------------------------------------------

    def upload_chunk(self, upload_id, chunk_index, source, length, user_id, sha256=None):
        """Store one chunk from a readable of `length` bytes; idempotent for identical bytes.

        Returns the progress dict plus `chunk_index` and `already_received`.
        """
        session = self.session_for(upload_id, user_id)
        if session["status"] != "uploading":
            raise UploadError(409, "upload_finalized", "This upload is finalized; it takes no more chunks.")
        index = parse_index(chunk_index, session["total_chunks"])
        expected = expected_length(session, index)
        if length is None:
            raise UploadError(411, "length_required", "Send the chunk with a Content-Length.")
        if length != expected:
            raise UploadError(
                422,
                "chunk_size_mismatch",
                f"Chunk {index} must be exactly {expected} bytes, not {length}.",
                expected_bytes=expected,
            )
        if sha256 is not None and not metadata.SHA256.match(sha256.strip().lower()):
            raise UploadError(400, "invalid_checksum_header", "X-Chunk-SHA256 must be 64 hexadecimal digits.")
        check_head = self._head_checker(session) if index == 0 else None
        directory = self.store.directory(upload_id)
        written = write_chunk(
            directory, chunk_name(index), source, length, sha256 and sha256.strip().lower(), check_head
        )
        if not written.stored:
            stored_sha = self.store.chunk_sha(upload_id, index) or _disk_sha(directory, index)
            if stored_sha != written.sha256:
                raise UploadError(
                    409,
                    "chunk_conflict",
                    f"Chunk {index} was already received with different bytes; the stored copy is kept.",
                )
        old, count, last_in = self.store.record_chunk(session, index, written.sha256)
        if old < 0:
            raise UploadError(409, "upload_finalized", "This upload is finalized; it takes no more chunks.")
        done = count * session["chunk_size"]
        if last_in:
            done -= session["chunk_size"] - expected_length(session, session["total_chunks"] - 1)
        return {
            "upload_id": upload_id,
            "chunk_index": index,
            "already_received": bool(old) or not written.stored,
            "received_chunks": count,
            "total_chunks": session["total_chunks"],
            "bytes_received": done,
            "file_size": session["file_size"],
            "percent": round(100.0 * done / session["file_size"], 2),
        }

    def _head_checker(self, session):
        def check(head):
            if not containers.matches_extension(head, session["extension"]):
                self.drop(session, "cancelled", "The file is not a video in a supported container.")
                raise UploadError(
                    415,
                    "unsupported_container",
                    f"The file does not start like a {containers.describe(session['extension'])} video; "
                    "the upload was cancelled.",
                )

        return check

    # -- progress, missing chunks, finalize, cancel ----------------------------------------------

    def get_missing_chunks(self, upload_id, user_id):
        """Indexes of the chunks not received yet."""
        session = self.session_for(upload_id, user_id)
        received = set(self.store.received(session))
        return [i for i in range(session["total_chunks"]) if i not in received]

    def get_upload_progress(self, upload_id, user_id):
        """Where the upload stands: received chunks and bytes, missing chunks, the asset's state."""
        session = self.session_for(upload_id, user_id)
        complete = session["status"] == "complete"
        received = list(range(session["total_chunks"])) if complete else self.store.received(session)
        missing = sorted(set(range(session["total_chunks"])) - set(received))
        done = bytes_received(session, received)
        asset = db.session.get(MediaAsset, session["asset_id"])
        expires = session["updated_at"] + int(self.config["UPLOAD_SESSION_TTL"])
        return {
            "upload_id": upload_id,
            "asset_id": session["asset_id"],
            "status": session["status"],
            "received_chunks": len(received),
            "total_chunks": session["total_chunks"],
            "chunk_size": session["chunk_size"],
            "bytes_received": done,
            "file_size": session["file_size"],
            "percent": round(100.0 * done / session["file_size"], 2),
            "missing_chunks": missing,
            "expires_at": None if complete else iso(expires),
            "asset_status": asset.status.value if asset else None,
            "processing_error": asset.processing_error if asset else None,
        }

    def finalize_upload(self, upload_id, user_id):
        """Mark a complete upload finalizing; returns (session, newly_finalized). 409 lists missing chunks."""
        session = self.session_for(upload_id, user_id)
        outcome = self.store.finalize(upload_id)
        if outcome == 0:
            missing = self.get_missing_chunks(upload_id, user_id)
            raise UploadError(
                409, "upload_incomplete", f"{len(missing)} chunk(s) are missing.", missing_chunks=missing
            )
        if outcome < 0 and session["status"] != "complete":
            raise UploadError(410, "upload_gone", "This upload was cancelled or has expired.")
        return session, outcome == 1

    def cancel_upload(self, upload_id, user_id):
        """Cancel an upload that is not finalized: delete its chunks at once and its asset."""
        session = self.session_for(upload_id, user_id)
        if session["status"] != "uploading":
            raise UploadError(
                409, "upload_finalized", "This upload is finalized and can no longer be cancelled."
            )
        asset = db.session.get(MediaAsset, session["asset_id"])
        if asset is not None and asset.status == MediaAssetStatus.UPLOADING and not asset.stream_video_id:
            db.session.delete(asset)
        self.drop(session, "cancelled")

    def drop(self, session, reason, asset_error=None):
        """Forget a session and free its disk; with asset_error, the asset is failed with that reason."""
        self.store.forget(session["upload_id"], session["user_id"], reason)
        shutil.rmtree(self.store.directory(session["upload_id"]), ignore_errors=True)
        if asset_error:
            asset = db.session.get(MediaAsset, session["asset_id"])
            if asset is not None and asset.status == MediaAssetStatus.UPLOADING:
                asset.status = MediaAssetStatus.FAILED
                asset.processing_error = asset_error

    def complete(self, upload_id):
        """Stream has every byte and the uid is committed: delete the chunks, keep a short record."""
        self.store.set_status(upload_id, "complete", keep_seconds=COMPLETE_KEEP_SECONDS)
        shutil.rmtree(self.store.directory(upload_id), ignore_errors=True)

    def cleanup_expired_uploads(self, now=None):
        """Delete uploads idle for longer than UPLOAD_SESSION_TTL; returns how many were removed."""
        return expiry.cleanup_expired(self, now)

    # -- direct uploads and copies ---------------------------------------------------------------

    def receive_direct_upload(self, path, file_name, user_id, metadata_fields):
        """A whole file already streamed to `path` under UPLOAD_DIR becomes a finalized one-chunk upload."""
        return direct.receive_direct_upload(self, path, file_name, user_id, metadata_fields)

    def upload_from_url(self, url, user_id, metadata_fields):
        """Create the asset (`uploading`) of a video Stream will copy from an https URL; the job asks Stream."""
        return direct.create_copy_asset(self, url, user_id, metadata_fields)


def parse_index(value, total):
    """A chunk index from a query or form value: 0 <= index < total, else 422."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    index = whole_number(text)
    if index is None:
        raise UploadError(422, "invalid_chunk_index", "'chunk_index' must be a whole number.")
    if index >= total:
        raise UploadError(
            422,
            "chunk_index_out_of_range",
            f"'chunk_index' must be from 0 to {total - 1}.",
            total_chunks=total,
        )
    return index


def bytes_received(session, received):
    """Bytes in the received chunks (the last chunk may be short)."""
    return sum(expected_length(session, i) for i in received) if received else 0


def iso(timestamp):
    """A Unix time as an ISO 8601 UTC string."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _disk_sha(directory, index):
    return file_sha256(os.path.join(directory, chunk_name(index)))
