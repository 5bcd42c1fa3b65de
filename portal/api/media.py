"""The media API: list, detail, signed access URLs, watch progress, view counting, continue watching.

For the player (static/js/player.js):
- `GET /api/media/<id>/access-url[?expiry_seconds=60..86400]` → `{asset_id, access_url, expires_in}`:
  a fresh signed iframe URL, for refreshing the token before it expires or after a playback error.
- `PUT /api/media/<id>/progress` with `{position_seconds, duration_seconds}` → 204 (every 15 s, on
  pause and on pagehide; signed-in members only, anonymous callers get 401).
- `POST /api/media/<id>/views` → 204, when playback really starts (the first `play` event). It
  counts once per member, video and UTC day however often it is called; for anonymous viewers
  of public videos it answers 204 and counts nothing.
Session callers send `X-CSRFToken` (the page's `<meta name="csrf-token">`) on PUT and POST.
"""

import logging

from flask import current_app, jsonify, request

from portal.api import bp
from portal.auth.access import api_user
from portal.errors import APIError
from portal.extensions import db
from portal.parsing import json_object, whole_number
from portal.services.media import access, library, playback, watching
from portal.services.media.presenting import asset_summary

log = logging.getLogger(__name__)

MIN_EXPIRY_SECONDS = 60
MAX_EXPIRY_SECONDS = 86_400


def _visible_asset(user, asset_id, with_details=False):
    """The asset and the policy's decision, or a 404 when unknown or invisible to the caller."""
    asset = library.find_asset(asset_id, with_details)
    decision = access.visibility(user, asset)
    if not decision.visible:
        raise APIError(404, "not_found", "No such video.")
    return asset, decision


def _playable_asset(user, asset_id):
    """The asset when the caller may play it: 401 anonymous, 403 tier too low, 404, 409 not ready."""
    asset, decision = _visible_asset(user, asset_id)
    if decision.locked:
        log.warning(
            "playback refused: user %s, asset %s, needs %s",
            user.id if user else "anonymous",
            asset.id,
            decision.required_tier.value if decision.required_tier else "sign-in",
        )
        if decision.needs_sign_in:
            raise APIError(401, "authentication_required", "Sign in to watch this video.")
        raise APIError(403, "tier_required", decision.lock_label, required_tier=decision.required_tier.value)
    if asset.status.value != "ready" or not asset.stream_video_id:
        raise APIError(409, "not_ready", f"This video is {asset.status.value}; it cannot be played yet.")
    return asset


def _signed_in():
    user = api_user()
    if not access.is_member(user):
        raise APIError(401, "authentication_required", "Sign in or send a bearer token.")
    return user


@bp.route("/media", methods=["GET"])
def media_list():
    """The videos the caller may see (locked ones marked, without anything playable), filtered and paged."""
    user = api_user()
    config = current_app.config
    try:
        query = library.parse_library_args(request.args, config, config["LIBRARY_PAGE_SIZE"])
    except library.LibraryQueryError as error:
        raise APIError(400, "invalid_parameter", str(error), parameter=error.parameter) from None
    results = library.search_library(user, query)
    thumbnails = playback.Thumbnails(config)
    items = [
        asset_summary(user, asset, decision, results.tags.get(asset.id, []), thumbnails)
        for asset, decision in results.entries
    ]
    return jsonify(items=items, total=results.total, page=results.page, per_page=results.per_page)


@bp.route("/media/<asset_id>", methods=["GET"])
def media_detail(asset_id):
    """One video as the caller may see it: 404 when unknown or invisible, locked fields when locked."""
    user = api_user()
    asset, decision = _visible_asset(user, asset_id, with_details=True)
    summary = asset_summary(user, asset, decision, asset.tags, playback.Thumbnails(current_app.config))
    if decision.playable:
        summary["captions"] = [{"language": c.language, "label": c.label} for c in asset.captions]
        summary["entity_title"] = library.entity_title(asset.entity_type, asset.entity_id)
    return jsonify(summary)


@bp.route("/media/<asset_id>/access-url", methods=["GET"])
def media_access_url(asset_id):
    """A signed iframe URL for this caller: `expiry_seconds` 60..86400 (tokens end inside 24 h)."""
    user = api_user()
    raw = request.args.get("expiry_seconds")
    requested = None
    if raw is not None:
        seconds = whole_number(raw)
        if seconds is None or not MIN_EXPIRY_SECONDS <= seconds <= MAX_EXPIRY_SECONDS:
            raise APIError(
                400,
                "invalid_parameter",
                f"'expiry_seconds' must be a whole number from {MIN_EXPIRY_SECONDS} to {MAX_EXPIRY_SECONDS}.",
                parameter="expiry_seconds",
            )
        requested = int(raw)
    asset = _playable_asset(user, asset_id)
    try:
        player = playback.signed_player(
            asset,
            user.id if access.is_member(user) else None,
            playback.token_lifetime(current_app.config, requested),
        )
    except playback.PlaybackUnavailable:
        log.exception("cannot sign playback for asset %s", asset.id)
        raise APIError(503, "playback_unavailable", "Playback is not available right now.") from None
    return jsonify(asset_id=asset.id, access_url=player.access_url, expires_in=player.expires_in)


@bp.route("/media/<asset_id>/progress", methods=["PUT"])
def media_progress(asset_id):
    """Save where the member is in the video (continue watching): `{position_seconds, duration_seconds}`."""
    user = _signed_in()
    data = json_object()
    asset = _playable_asset(user, asset_id)
    try:
        watching.save_progress(
            user,
            asset,
            data.get("position_seconds"),
            data.get("duration_seconds"),
            current_app.config["WATCH_FINISHED_FRACTION"],
        )
    except watching.ProgressError as error:
        db.session.rollback()
        raise APIError(400, "invalid_field", str(error), field=error.field) from None
    db.session.commit()
    return "", 204


@bp.route("/media/<asset_id>/views", methods=["POST"])
def media_views(asset_id):
    """Playback really started: count one view per member, video and UTC day (idempotent), 204."""
    user = api_user()
    asset = _playable_asset(user, asset_id)
    if watching.record_view(user, asset):
        db.session.commit()
    return "", 204


@bp.route("/me/continue-watching", methods=["GET"])
def continue_watching():
    """The caller's unfinished videos they may still play, most recently watched first."""
    user = _signed_in()
    config = current_app.config
    rows = watching.continue_watching(user, config["CONTINUE_WATCHING_LIMIT"])
    thumbnails = playback.Thumbnails(config)
    items = []
    for asset, progress in rows:
        item = asset_summary(user, asset, access.PLAYABLE, library.split_tags(asset.tag_list), thumbnails)
        item.update(
            position_seconds=progress.position_seconds,
            duration_seconds=progress.duration_seconds or asset.duration_seconds,
            updated_at=progress.updated_at.isoformat(),
        )
        items.append(item)
    return jsonify(items=items)
