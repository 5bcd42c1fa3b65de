"""MP4 downloads of a video (/stream/<uid>/downloads): create, list, delete. Only the default MP4 is emulated."""

from flask import Blueprint

from .api_videos import find_video
from .auth import emulator, require_api_auth
from .envelope import bad_request, envelope, not_found
from .videos import state_of

downloads_api = Blueprint(
    "downloads_api", __name__, url_prefix="/client/v4/accounts/<account_id>/stream/<uid>/downloads"
)
downloads_api.before_request(require_api_auth)


def download_object(uid):
    """The default download entry: ready at once, since processing already made the MP4."""
    url = f"{emulator().customer_base()}/{uid}/downloads/default.mp4"
    return {"status": "ready", "url": url, "percentComplete": 100.0}


def _downloads(record):
    return {"default": download_object(record["uid"])} if record["_downloads"].get("default") else {}


@downloads_api.post("")
@downloads_api.post("/default")
def create_download(account_id, uid):
    """Make the default MP4 download available (the video must be ready)."""
    record = find_video(uid)
    if state_of(record) != "ready":
        raise bad_request("Downloads can be created only once the video is ready")
    emulator().videos.mutate(uid, lambda video: video["_downloads"].update(default=True))
    return envelope({"default": download_object(uid)})


@downloads_api.get("")
def list_downloads(account_id, uid):
    """The downloads made for the video."""
    return envelope(_downloads(find_video(uid)))


@downloads_api.delete("")
@downloads_api.delete("/default")
def delete_download(account_id, uid):
    """Remove the default MP4 download."""
    record = find_video(uid)
    if not record["_downloads"].get("default"):
        raise not_found("Download not found")
    emulator().videos.mutate(uid, lambda video: video["_downloads"].pop("default", None))
    return envelope("ok")
