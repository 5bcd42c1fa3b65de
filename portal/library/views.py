"""Members' pages: home (with continue watching), the library grid, and the watch page."""

import logging

from flask import abort, current_app, g, render_template, request
from flask_login import current_user

from portal.auth.session import unauthorized
from portal.library import bp
from portal.services.media import access, library, playback, watching
from portal.services.media.presenting import asset_summary, duration_label

log = logging.getLogger(__name__)


def _continue_cards(user, rows, tags):
    """Continue-watching cards: (summary, percent watched) for the member's unfinished videos."""
    cards = []
    for asset, progress in rows:
        summary = asset_summary(user, asset, access.PLAYABLE, tags.get(asset.id, []), current_app.config)
        percent = 0
        if progress.duration_seconds:
            percent = min(100, int(100 * progress.position_seconds / progress.duration_seconds))
        cards.append((summary, percent))
    return cards


@bp.app_template_filter("duration")
def duration_filter(seconds):
    """Jinja filter: seconds as m:ss."""
    return duration_label(seconds)


@bp.route("/")
def index():
    """Home page: what the account opens, the way into the library, and continue watching."""
    rows = watching.continue_watching(current_user, current_app.config["CONTINUE_WATCHING_LIMIT"])
    return render_template("library/index.html", continue_cards=_continue_cards(current_user, rows, {}))


@bp.route("/library")
def browse():
    """The library grid: search, tag and session/event filters, sorting, pages; locked cards."""
    config = current_app.config
    args = request.args.to_dict()
    entity_type, _, entity_id = args.pop("entity", "").partition(":")
    if entity_id:  # the filter list sends "<type>:<id>" in one field
        args.update(entity_type=entity_type, entity_id=entity_id)
    try:
        query = library.parse_library_args(args, config, config["LIBRARY_PAGE_SIZE"])
        query.per_page = config["LIBRARY_PAGE_SIZE"]
        query.status = None
        problem = None
    except library.LibraryQueryError as error:
        query, problem = library.LibraryQuery(per_page=config["LIBRARY_PAGE_SIZE"]), str(error)
    progress_rows = watching.continue_watching(current_user, config["CONTINUE_WATCHING_LIMIT"])
    results = library.LibraryPage([], 0, 1, query.per_page)
    if problem is None:
        results = library.search_library(current_user, query, extra_ids=[a.id for a, _ in progress_rows])
    cards = [
        asset_summary(current_user, asset, decision, results.tags.get(asset.id, []), config)
        for asset, decision in results.entries
    ]
    continue_cards = _continue_cards(current_user, progress_rows, results.tags)
    facets = library.library_facets(current_user)
    status = 400 if problem else 200
    return render_template(
        "library/browse.html",
        query=query,
        results=results,
        cards=cards,
        continue_cards=continue_cards,
        facets=facets,
        sorts=library.SORT_LABELS,
        problem=problem,
    ), status


@bp.route("/watch/<asset_id>")
def watch(asset_id):
    """The watch page: the signed Stream player for who may play it, a locked panel for the rest."""
    config = current_app.config
    asset = library.find_asset(asset_id)
    decision = access.visibility(current_user, asset)
    if not decision.visible:
        abort(404)
    context = {
        "asset": asset,
        "decision": decision,
        "tags": asset.tags,
        "entity_title": library.entity_title(asset.entity_type, asset.entity_id),
    }
    if decision.locked:
        if decision.needs_sign_in:
            return unauthorized()
        log.info(
            "watch refused: user %s, asset %s needs %s",
            current_user.get_id(),
            asset.id,
            decision.required_tier,
        )
        return render_template("library/watch.html", **context), 403
    related = library.related_videos(current_user, asset, config["RELATED_VIDEOS_LIMIT"])
    related_tags = library.tags_for([item.id for item in related])
    context["related"] = [
        asset_summary(current_user, item, access.PLAYABLE, related_tags[item.id], config) for item in related
    ]
    if asset.status.value == "ready" and asset.stream_video_id:
        start = watching.resume_position(current_user, asset)
        caption = playback.caption_language_for(asset, list(request.accept_languages))
        try:
            player = playback.signed_player(
                asset,
                current_user.id if access.is_member(current_user) else None,
                playback.token_lifetime(config),
                start_time=start,
                caption_language=caption,
            )
        except playback.PlaybackUnavailable:
            log.exception("cannot sign playback for asset %s", asset.id)
            return render_template("library/watch.html", unavailable=True, **context), 503
        sdk_url = playback.sdk_script_url(config)
        g.csp_script_sources = [sdk_url]  # the script itself, not its whole origin
        context.update(player=player, start_time=start, caption_language=caption, sdk_url=sdk_url)
        if access.is_staff(current_user):
            public = asset.access_level.value == "public"
            context["embed_code"] = playback.embed_code(asset, None if public else player.token)
    return render_template("library/watch.html", **context)
