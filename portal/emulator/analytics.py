"""Minutes viewed, counted from what the customer domain serves, for the GraphQL analytics endpoint.

Cloudflare bills (and reports in ``streamMinutesViewedAdaptiveGroups``) the minutes of video delivered
by its servers. The emulator counts them per video uid and UTC date from the delivery routes:

- an HLS media segment (``seg_NNN.ts``) counts its ``#EXTINF`` duration (4 s, the last one shorter);
- a DASH media segment (``chunk-stream<R>-<N>.m4s``) counts its ``SegmentTimeline`` duration, but only
  for the video adaptation set, so that fetching the separate audio track does not count the same
  seconds twice (init segments, manifests and playlists count nothing);
- the player page's progressive rendition (``/<id>/__emulator__/video.mp4`` / ``.webm``, the emulator's
  stand-in for HLS in browsers) counts the share of the video's duration its bytes are: a full 200 counts
  the whole duration, a 206 range counts ``duration x range length / file size``;
- the same byte-share rule applies to a ranged request for a segment.

Only GET responses with status 200 or 206 count (HEAD, 304 and refusals do not). Downloads
(``/downloads/default.mp4``) are not views and count nothing. Minutes are kept as seconds in
``<state_dir>/analytics.json`` (written through on every counted request, so they survive a restart);
``reset()`` wipes them, and days older than the 90-day retention are dropped. Unlike Cloudflare's
whole-minute figures, the emulator reports fractional minutes so that a 2-second test video shows up.
"""

import logging
import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app, g, request

from .store import JsonDocument

log = logging.getLogger(__name__)

RETENTION_DAYS = 90
HLS_SEGMENT = re.compile(r"^seg_\d+\.ts$")
DASH_SEGMENT = re.compile(r"^chunk-stream(\w+)-(\d+)\.m4s$")
EXTINF = re.compile(r"^#EXTINF:([0-9.]+)")
MPD_NS = "{urn:mpeg:dash:schema:mpd:2011}"
COUNTED_ENDPOINTS = ("customer_domain.manifest_file", "customer_domain.progressive")


def utc_today():
    """Today's date in UTC (Cloudflare's analytics dates are UTC)."""
    return datetime.now(UTC).date()


class ViewLog:
    """Seconds viewed per video uid and UTC date, persisted as one JSON document."""

    def __init__(self, state_dir):
        self.document = JsonDocument(Path(state_dir) / "analytics.json", {"seconds": {}})
        self._lock = threading.Lock()
        data = self.document.load()
        self._seconds = data.get("seconds") if isinstance(data.get("seconds"), dict) else {}

    def record(self, uid, seconds, day=None):
        """Add `seconds` viewed of video `uid` on `day` (default: today, UTC)."""
        if seconds <= 0:
            return
        day = (day or utc_today()).isoformat()
        oldest = (utc_today() - timedelta(days=RETENTION_DAYS)).isoformat()
        with self._lock:
            days = self._seconds.setdefault(uid, {})
            days[day] = round(days.get(day, 0.0) + seconds, 6)
            for uid_days in self._seconds.values():
                for old in [d for d in uid_days if d < oldest]:
                    del uid_days[old]
            self.document.save({"seconds": self._seconds})

    def rows(self):
        """Every (uid, date ISO string, seconds) kept."""
        with self._lock:
            return [
                (uid, day, seconds) for uid, days in self._seconds.items() for day, seconds in days.items()
            ]

    def wipe(self):
        """Forget every view."""
        with self._lock:
            self._seconds = {}
            self.document.save({"seconds": {}})


def hls_segment_seconds(manifest_dir, name):
    """The #EXTINF duration of an HLS segment in the media playlist, or 0."""
    playlist = Path(manifest_dir) / "stream.m3u8"
    if not playlist.is_file():
        return 0.0
    pending = None
    for line in playlist.read_text(encoding="utf-8").splitlines():
        match = EXTINF.match(line)
        if match:
            pending = float(match.group(1))
        elif line.strip() == name and pending is not None:
            return pending
        elif line and not line.startswith("#"):
            pending = None
    return 0.0


def dash_segment_seconds(manifest_dir, name):
    """The SegmentTimeline duration of a DASH media segment of the video track, or 0 (audio, init, unknown)."""
    match = DASH_SEGMENT.match(name)
    mpd = Path(manifest_dir) / "video.mpd"
    if not match or not mpd.is_file():
        return 0.0
    representation_id, number = match.group(1), int(match.group(2))
    try:
        root = ET.parse(mpd).getroot()
    except ET.ParseError:
        return 0.0
    sets = root.findall(f"{MPD_NS}Period/{MPD_NS}AdaptationSet")
    video_sets = [s for s in sets if s.get("contentType") == "video"] or sets[:1]
    for adaptation_set in video_sets:
        for representation in adaptation_set.findall(f"{MPD_NS}Representation"):
            if representation.get("id") != representation_id:
                continue
            template = representation.find(f"{MPD_NS}SegmentTemplate")
            if template is None:
                return 0.0
            timescale = float(template.get("timescale", "1"))
            current = int(template.get("startNumber", "1"))
            for entry in template.findall(f"{MPD_NS}SegmentTimeline/{MPD_NS}S"):
                repeat = int(entry.get("r", "0"))
                if current <= number <= current + repeat:
                    return int(entry.get("d", "0")) / timescale
                current += repeat + 1
    return 0.0


def byte_share(response, size):
    """The fraction of a file of `size` bytes a 200/206 response carries."""
    if response.status_code == 200 or not size:
        return 1.0
    length = response.content_length or 0
    return min(max(length / size, 0.0), 1.0)


def delivered_seconds(emulator, uid, response):
    """Seconds of video a successful delivery response counts for (see the module docstring)."""
    out_dir = emulator.videos.output_dir(uid)
    args = request.view_args or {}
    if request.endpoint == "customer_domain.progressive":
        record = emulator.videos.get(uid) or {}
        duration = float(record.get("duration") or 0)
        path = out_dir / f"video.{args.get('extension')}"
        return duration * byte_share(response, path.stat().st_size if path.is_file() else 0)
    name = args.get("name", "")
    manifest_dir = out_dir / "manifest"
    if HLS_SEGMENT.match(name):
        seconds = hls_segment_seconds(manifest_dir, name)
    elif DASH_SEGMENT.match(name):
        seconds = dash_segment_seconds(manifest_dir, name)
    else:
        return 0.0
    path = manifest_dir / name
    return seconds * byte_share(response, path.stat().st_size if path.is_file() else 0)


def count_delivered_minutes(response):
    """An after_request hook: add the seconds a served segment or progressive range counts for."""
    if (
        request.method != "GET"
        or response.status_code not in (200, 206)
        or request.endpoint not in COUNTED_ENDPOINTS
    ):
        return response
    uid = g.get("stream_delivery_uid")
    if not uid:
        return response
    emulator = current_app.extensions["stream_emulator"]
    try:
        emulator.analytics.record(uid, delivered_seconds(emulator, uid, response))
    except (OSError, ValueError):
        log.exception("Could not count the minutes of %s", request.path)
    return response
