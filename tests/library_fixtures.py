"""Test helpers for the library: a module-wide app with a local signing key, and assets to fill it."""

import uuid
from contextlib import contextmanager

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import delete

from config import TestConfig
from portal import create_app
from portal.extensions import db
from portal.models import Caption, MediaAccessLevel, MediaAsset, MediaAssetStatus
from portal.redis_runtime import limiter_storage_uri
from tests import conftest

KEY_ID = "0123456789abcdef0123456789abcdef"


def new_rsa_key():
    """A 2048-bit RSA key and its PEM, as Cloudflare's /stream/keys makes."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return key, pem


@contextmanager
def module_app(redis_url, tmp_path, **overrides):
    """One portal app for a whole test module (tables emptied at the end), signing with a local key."""
    key, pem = new_rsa_key()
    settings = {
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": limiter_storage_uri(redis_url),
        "RATELIMIT_ENABLED": False,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "STREAM_SETTINGS_FILE": str(tmp_path / "stream-settings.json"),
        "CLOUDFLARE_STREAM_SIGNING_KEY_ID": KEY_ID,
        "CLOUDFLARE_STREAM_SIGNING_KEY": pem,
        **overrides,
    }
    app = create_app(TestConfig, overrides=settings)
    app.test_client_class = conftest.IsolatedClient
    app.signing_public_key = key.public_key()
    with app.app_context():
        if not conftest._fresh_schema:
            db.drop_all()
            conftest._fresh_schema.append(True)
        db.create_all()
        app.extensions["redis"].connection.flushdb()
    try:
        yield app
    finally:
        app.extensions["redis"].close()
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(delete(table))
            db.engine.dispose()


def make_asset(
    title,
    access_level=MediaAccessLevel.PUBLIC,
    required_tier=None,
    status=MediaAssetStatus.READY,
    tags=(),
    captions=(),
    **fields,
):
    """Add a media asset with a Stream uid, a uid-based thumbnail URL (to catch leaks) and captions."""
    uid = uuid.uuid4().hex
    asset = MediaAsset(
        title=title,
        description=fields.pop("description", f"About {title}"),
        stream_video_id=uid,
        status=status,
        access_level=access_level,
        required_tier=required_tier,
        duration_seconds=fields.pop("duration_seconds", 125),
        thumbnail_url=f"https://customer-leak.cloudflarestream.com/{uid}/thumbnails/thumbnail.jpg",
        **fields,
    )
    asset.tags = list(tags)
    asset.captions = [Caption(language=lang, label=lang.upper()) for lang in captions]
    db.session.add(asset)
    return asset
