"""Members' pages: home (with continue watching), the library grid, and the watch page."""

import logging
from dataclasses import replace

from flask import abort, current_app, g, render_template, request
from flask_login import current_user
from markupsafe import Markup

from portal.auth.session import unauthorized
from portal.library import bp
from portal.models import MediaType
from portal.services.media import access, details, facets, grid_cache, library, playback, watching
from portal.services.media.presenting import asset_summary, duration_label

log = logging.getLogger(__name__)


def viewer():
    """The signed-in user (or the anonymous one) itself, not the proxy: pages ask it many times."""
    return current_user._get_current_object()


def _continue_cards(user, rows, thumbnails):
    """Continue-watching cards: (summary, percent watched) for the member's unfinished videos."""
    cards = []
    for asset, progress in rows:
        summary = asset_summary(user, asset, access.PLAYABLE, library.split_tags(asset.tag_list), thumbnails)
        percent = 0
        if progress.duration_seconds:
            percent = min(100, int(100 * progress.position_seconds / progress.duration_seconds))
        cards.append((summary, percent))
    return cards


def card_links():
    """URL prefixes for cards, built once per page rather than once per card."""
    root = request.script_root
    return {"watch": f"{root}/watch/", "tag": f"{root}/library?tag="}


@bp.app_template_filter("duration")
def duration_filter(seconds):
    """Jinja filter: seconds as m:ss."""
    return duration_label(seconds)


@bp.route("/")
def index():
    """Home page: what the account opens, the way into the library, and continue watching."""
    user = viewer()
    rows = watching.continue_watching(user, current_app.config["CONTINUE_WATCHING_LIMIT"])
    cards = _continue_cards(user, rows, playback.Thumbnails(current_app.config))
    return render_template("library/index.html", continue_cards=cards, links=card_links())


@bp.route("/library")
def browse():
    """The library grid: search, tag and session/event filters, sorting, pages; locked cards."""
    config, user = current_app.config, viewer()
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
    thumbnails = playback.Thumbnails(config)
    continue_cards = []
    if query.page == 1 and not (
        query.q or query.tag or query.entity_id
    ):  # the row tops the unfiltered library
        progress_rows = watching.continue_watching(user, config["CONTINUE_WATCHING_LIMIT"])
        continue_cards = _continue_cards(user, progress_rows, thumbnails)
    return render_template(
        "library/browse.html",
        query=query,
        grid=_grid(user, query, problem, thumbnails),
        continue_cards=continue_cards,
        links=card_links(),
    ), (400 if problem else 200)


def _grid(user, query, problem, thumbnails):
    """The filters and the grid (count, cards, pager), from the per-process cache when current."""
    config = current_app.config
    # The arguments in their order: the page reads the first of repeated ones (q=a&q=b is not q=b&q=a).
    key = _cache_key(user, "grid", tuple(request.args.items(multi=True))) if problem is None else None
    cached = grid_cache.get(key) if key else None
    if cached is not None:
        return cached
    results = library.LibraryPage([], 0, 1, query.per_page)
    if problem is None:
        results = library.search_library(user, replace(query, media_type=MediaType.VIDEO))
    cards = [
        asset_summary(user, asset, decision, results.tags.get(asset.id, []), thumbnails)
        for asset, decision in results.entries
    ]
    # Keyed like the grid (database, library version): a changed video changes the lists at once.
    filter_lists = facets.cached_facets(
        user, config["LIBRARY_FACETS_CACHE_SECONDS"], key[:2] if key else config["SQLALCHEMY_DATABASE_URI"]
    )
    html = Markup(
        render_template(
            "library/_grid.html",
            query=query,
            results=results,
            cards=cards,
            facets=filter_lists,
            sorts=library.SORT_LABELS,
            problem=problem,
            links=card_links(),
        )
    )
    if key:
        grid_cache.put(key, html, config["LIBRARY_GRID_CACHE_SECONDS"])
    return html


def _cache_key(user, *parts):
    """A grid-cache key for what this viewer kind sees now, or None when caching is off.

    Off too while Redis cannot say the library version: a change would then go unseen for the
    cache's whole time limit, even in the process that made it.
    """
    if current_app.config["LIBRARY_GRID_CACHE_SECONDS"] <= 0:
        return None
    version = grid_cache.library_version(current_app.extensions["redis"].connection)
    if version < 0:
        return None
    return (current_app.config["SQLALCHEMY_DATABASE_URI"], version, grid_cache.viewer_kind(user), *parts)


def _related(user, asset):
    """The related cards' HTML for the watch page, from the per-process cache when current."""
    key = _cache_key(user, "related", asset.id)
    cached = grid_cache.get(key) if key else None
    if cached is not None:
        return cached
    config = current_app.config
    thumbnails = playback.Thumbnails(config)
    related = library.related_videos(user, asset, config["RELATED_VIDEOS_LIMIT"])
    cards = [asset_summary(user, item, access.PLAYABLE, (), thumbnails) for item in related]
    html = Markup(render_template("library/_related.html", cards=cards, links=card_links()) if cards else "")
    if key:
        grid_cache.put(key, html, config["LIBRARY_GRID_CACHE_SECONDS"])
    return html


@bp.route("/watch/<asset_id>")
def watch(asset_id):
    """The watch page: the signed Stream player for who may play it, a locked panel for the rest."""
    config, user = current_app.config, viewer()
    asset = details.video_details(asset_id)
    decision = access.visibility(user, asset)
    if not decision.visible:
        abort(404)
    context = {
        "asset": asset,
        "decision": decision,
        "tags": asset.tags,
        "entity_title": asset.entity_title,
        "links": card_links(),
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
    context["related"] = _related(user, asset)
    if asset.status.value == "ready" and asset.stream_video_id:
        start = watching.resume_position(user, asset)
        caption = playback.caption_language_for(asset, list(request.accept_languages))
        lifetime = playback.token_lifetime(
            config, min(config["WATCH_TOKEN_SECONDS"], config["PLAYBACK_TOKEN_SECONDS"])
        )
        try:
            player = playback.signed_player(
                asset,
                user.id if access.is_member(user) else None,
                lifetime,
                start_time=start,
                caption_language=caption,
                reuse_seconds=config["WATCH_TOKEN_REUSE_SECONDS"],
            )
        except playback.PlaybackUnavailable:
            log.exception("cannot sign playback for asset %s", asset.id)
            return render_template("library/watch.html", unavailable=True, **context), 503
        sdk_url = playback.sdk_script_url(config)
        g.csp_script_sources = [sdk_url]  # the script itself, not its whole origin
        # player.js renews with tokens of the same life (access-url takes 60 s at the least).
        renew = {"expiry_seconds": lifetime} if lifetime >= 60 else {}
        context.update(
            player=player, start_time=start, caption_language=caption, sdk_url=sdk_url, renew_args=renew
        )
        if access.is_staff(user):
            public = asset.access_level.value == "public"
            context["embed_code"] = playback.embed_code(asset, None if public else player.token)
    return render_template("library/watch.html", **context)
