"""The emulator's state on disk: one JSON record per video plus its files, and small JSON documents."""

import copy
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from .videos import timestamp_now

log = logging.getLogger(__name__)

UID_PATTERN = re.compile(r"[0-9a-f]{32}")


def write_json_atomically(path, data):
    """Write `data` as JSON to `path` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def is_uid(value):
    """Whether `value` looks like a video uid (32 lowercase hex characters)."""
    return isinstance(value, str) and bool(UID_PATTERN.fullmatch(value))


class JsonDocument:
    """One JSON document on disk (signing keys, the webhook subscription), read and written under a lock."""

    def __init__(self, path, default):
        self.path = Path(path)
        self.default = default
        self.lock = threading.RLock()

    def load(self):
        """The document's content, or a copy of the default when the file does not exist."""
        with self.lock:
            if not self.path.exists():
                return copy.deepcopy(self.default)
            return json.loads(self.path.read_text(encoding="utf-8"))

    def save(self, data):
        """Replace the document's content."""
        with self.lock:
            write_json_atomically(self.path, data)


class VideoStore:
    """Video records kept in memory and written through to <state_dir>/videos/<uid>/video.json."""

    def __init__(self, state_dir):
        self.root = Path(state_dir) / "videos"
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._records = {}
        for record_file in self.root.glob("*/video.json"):
            try:
                record = json.loads(record_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                record = None
            if (
                not isinstance(record, dict)
                or record.get("uid") != record_file.parent.name
                or not is_uid(record["uid"])
            ):
                log.warning("Skipping unreadable video record %s", record_file)
                continue
            self._records[record["uid"]] = record

    def video_dir(self, uid):
        """The directory holding the video's record, source and renditions (only for a well-formed uid)."""
        if not is_uid(uid):  # ".." or "." from a URL would otherwise name the state directory itself
            raise ValueError(f"not a video uid: {uid!r}")
        return self.root / uid

    def source_path(self, uid):
        """Where the uploaded (or fetched) original bytes are kept."""
        return self.video_dir(uid) / "source"

    def output_dir(self, uid):
        """Where processing writes the renditions, manifests and thumbnails."""
        return self.video_dir(uid) / "out"

    def add(self, record):
        """Store a new record and create its directory; returns a copy."""
        with self._lock:
            self.video_dir(record["uid"]).mkdir(parents=True, exist_ok=True)
            self._records[record["uid"]] = copy.deepcopy(record)
            self._persist(record["uid"])
            return copy.deepcopy(record)

    def get(self, uid):
        """A copy of the record, or None."""
        with self._lock:
            record = self._records.get(uid)
            return copy.deepcopy(record) if record is not None else None

    def all(self):
        """Copies of every record."""
        with self._lock:
            return [copy.deepcopy(record) for record in self._records.values()]

    def mutate(self, uid, change, touch=True):
        """Apply `change(record)` under the lock, persist, and return a copy; None if the video is gone."""
        with self._lock:
            record = self._records.get(uid)
            if record is None:
                return None
            change(record)
            if touch:
                record["modified"] = timestamp_now()
            self._persist(uid)
            return copy.deepcopy(record)

    def update(self, uid, **fields):
        """Set top-level fields of the record; None if the video is gone."""
        return self.mutate(uid, lambda record: record.update(fields))

    def delete(self, uid):
        """Forget the video and remove its files; whether it existed."""
        with self._lock:
            existed = self._records.pop(uid, None) is not None
        if existed:
            shutil.rmtree(self.video_dir(uid), ignore_errors=True)
        return existed

    def wipe(self):
        """Remove every video."""
        with self._lock:
            uids = list(self._records)
            self._records.clear()
        for uid in uids:
            shutil.rmtree(self.video_dir(uid), ignore_errors=True)

    def _persist(self, uid):
        path = self.video_dir(uid) / "video.json"
        if path.parent.exists():
            write_json_atomically(path, self._records[uid])
