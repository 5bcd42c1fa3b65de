"""Background processing: fetch copies, probe, encode and package each video, moving it through Stream's states."""

import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from . import transcoding
from .videos import pct, state_of, timestamp_now

log = logging.getLogger(__name__)

MIN_DURATION = 0.1
PROGRESS_INTERVAL = 0.25
FETCH_BLOCK = 1 << 20
FETCH_TIMEOUT = (10, 60)
MAX_FETCH_BYTES = 30 * 1024**3


class VideoProcessor:
    """Runs each video's processing (and each copy's download) on a small thread pool."""

    def __init__(self, emulator, workers=2):
        self.emulator = emulator
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="stream-emulator-processing"
        )
        self._webm_locks = {}
        self._webm_locks_guard = threading.Lock()

    def submit(self, uid):
        """Queue a fully uploaded video for processing."""
        self._submit(self._process_safely, uid)

    def submit_copy(self, uid, url):
        """Queue the download of a copy upload, followed by its processing."""
        self._submit(self._copy_then_process, uid, url)

    def resume(self):
        """Requeue the work a previous run left unfinished (state survives restarts, threads do not)."""
        for record in self.emulator.videos.all():
            if state_of(record) in ("queued", "inprogress"):
                self.submit(record["uid"])
            elif state_of(record) == "downloading":
                self.submit_copy(record["uid"], record["meta"].get("downloaded-from", ""))

    def shutdown(self):
        """Stop taking work; queued jobs are dropped, a running ffmpeg is left to finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _submit(self, function, *args):
        try:
            self._executor.submit(_logging_errors, function, *args)
        except RuntimeError:
            log.warning("Processing is shut down; %s not queued", args[0])

    def _copy_then_process(self, uid, url):
        try:
            size = self._fetch(uid, url)
        except (requests.RequestException, OSError, ValueError) as error:
            log.info("Fetching %s for %s failed: %s", url, uid, error)
            self._fail(uid, "ERR_FETCH_ORIGIN_ERROR", f"The origin could not be fetched: {error}")
            return
        if self.emulator.videos.mutate(uid, lambda record: mark_queued(record, size)) is not None:
            self._process_safely(uid)
        else:
            self._remove_if_deleted(uid)

    def _fetch(self, uid, url):
        # Loopback origins are fine here; real Cloudflare needs a publicly routable server.
        size = 0
        with requests.get(url, stream=True, timeout=FETCH_TIMEOUT) as response:
            if not 200 <= response.status_code < 300:
                raise ValueError(f"origin answered HTTP {response.status_code}")
            with open(self.emulator.videos.source_path(uid), "wb") as target:
                for block in response.iter_content(FETCH_BLOCK):
                    size += len(block)
                    if size > MAX_FETCH_BYTES:
                        raise ValueError("the file is larger than 30 GB")
                    target.write(block)
        return size

    def _process_safely(self, uid):
        try:
            ready = self._process(uid)
        except Exception:  # a crash must end in Stream's error state, never in a stuck video
            if self.emulator.videos.get(uid) is not None:
                log.exception("Processing %s failed", uid)
                self._fail(uid, "ERR_UNKNOWN", "The video could not be processed")
            ready = False
        if ready:
            try:
                self.ensure_webm(uid)
            except OSError:  # the video was deleted while its WebM was being made
                log.info("No WebM rendition for %s", uid)
        self._remove_if_deleted(uid)

    def _remove_if_deleted(self, uid):
        """ffmpeg may have re-created the directory of a video deleted meanwhile: remove it again."""
        if self.emulator.videos.get(uid) is None:
            shutil.rmtree(self.emulator.videos.video_dir(uid), ignore_errors=True)
            with self._webm_locks_guard:
                self._webm_locks.pop(uid, None)

    def _process(self, uid):
        videos = self.emulator.videos
        record = videos.mutate(
            uid, lambda record: record["status"].update(state="inprogress", pctComplete=pct(0))
        )
        if record is None:
            return
        probe = transcoding.probe_media(videos.source_path(uid))
        if not probe.has_video:
            if probe.looks_like_container and ("moov atom not found" in probe.stderr or not probe.opened):
                self._fail(uid, "ERR_MALFORMED_VIDEO", "The video is malformed or truncated")
            else:
                self._fail(uid, "ERR_NON_VIDEO", "The upload is not a video")
            return
        limit = record.get("maxDurationSeconds")
        if limit and probe.duration > limit:
            self._fail(
                uid,
                "ERR_DURATION_EXCEED_CONSTRAINT",
                f"The video is {probe.duration:.1f}s long, over maxDurationSeconds ({limit})",
            )
            return
        if 0 <= probe.duration < MIN_DURATION:
            self._fail(uid, "ERR_DURATION_TOO_SHORT", "The video is shorter than 0.1 seconds")
            return
        duration = round(probe.duration, 3) if probe.duration > 0 else -1
        videos.update(uid, duration=duration, input={"width": probe.width, "height": probe.height})
        out_dir = videos.output_dir(uid)
        reporter = ProgressReporter(videos, uid)
        if not transcoding.encode_mp4(videos.source_path(uid), out_dir, probe.duration, reporter):
            if videos.get(uid) is not None:
                self._fail(uid, "ERR_MALFORMED_VIDEO", "The video could not be decoded to the end")
            return
        if not transcoding.package_streaming(out_dir):
            if videos.get(uid) is not None:
                self._fail(uid, "ERR_UNKNOWN", "The video could not be packaged")
            return
        self.emulator.finish_video(uid, _mark_ready)
        log.info("Video %s is ready (%.2fs, %sx%s)", uid, probe.duration, probe.width, probe.height)
        return True

    def ensure_webm(self, uid):
        """The WebM rendition's path, made now if the background job has not made it yet."""
        target = self.emulator.videos.output_dir(uid) / "video.webm"
        with self._webm_locks_guard:
            lock = self._webm_locks.setdefault(uid, threading.Lock())
        with lock:
            if not target.exists() and (target.parent / "video.mp4").exists():
                transcoding.encode_webm(target.parent)
        return target

    def _fail(self, uid, code, text):
        def mark_error(record):
            """Stream's error state with the reason."""
            record["status"].update(state="error", errorReasonCode=code, errorReasonText=text)
            record["readyToStream"] = False

        if self.emulator.finish_video(uid, mark_error) is not None:
            log.info("Video %s failed: %s", uid, code)


def _logging_errors(function, *args):
    try:
        function(*args)
    except Exception:  # the executor would swallow it silently
        log.exception("Background job %s%r failed", function.__name__, args)


class ProgressReporter:
    """Writes pctComplete as ffmpeg advances, at most a few times a second."""

    def __init__(self, videos, uid):
        self.videos = videos
        self.uid = uid
        self.last_write = 0.0
        self.highest = 0.0

    def __call__(self, fraction):
        now = time.monotonic()
        if fraction > self.highest and now - self.last_write >= PROGRESS_INTERVAL:
            self.last_write, self.highest = now, fraction
            self.videos.mutate(
                self.uid, lambda record: record["status"].update(pctComplete=pct(fraction * 95))
            )


def mark_queued(record, size):
    """Record that all `size` bytes are in: the video waits in the queue."""
    record["size"] = size
    record["uploaded"] = timestamp_now()
    record["status"].update(state="queued", pctComplete=pct(0))


def _mark_ready(record):
    record["readyToStream"] = True
    record["readyToStreamAt"] = timestamp_now()
    record["status"].update(state="ready", pctComplete=pct(100), errorReasonCode="", errorReasonText="")
