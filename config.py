"""Configuration classes for the portal, read from the environment."""

import os
from datetime import timedelta

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.environ.get("PORTAL_INSTANCE_DIR", os.path.join(BASE_DIR, "instance"))

DEFAULT_SECRET_KEY = "dev-only-secret-key-change-me-before-deploying"
MIB = 1024 * 1024


def _env_int(name, default):
    """Read an integer setting from the environment."""
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


# Cloudflare Stream defaults: the one home of every Stream default. The config classes below read the
# environment over them; portal.services.stream (client, tus, settings) imports them from here.
CLOUDFLARE_API_BASE = "https://api.cloudflare.com/client/v4"
STREAM_BACKENDS = ("emulator", "cloudflare")
STREAM_DEFAULTS = {
    "STREAM_BACKEND": "emulator",
    "STREAM_EMULATOR_PORT": 8788,
    "CLOUDFLARE_API_BASE": CLOUDFLARE_API_BASE,
    "CLOUDFLARE_GRAPHQL_URL": CLOUDFLARE_API_BASE + "/graphql",
    "STREAM_HTTP_TIMEOUT": 30,
    "STREAM_MAX_RETRIES": 4,
    "STREAM_TUS_CHUNK_SIZE": 50 * MIB,  # Cloudflare's recommendation
}


def emulator_stream_defaults(port):
    """What the `emulator` backend defaults to: the local emulator's API, account, token and root."""
    root = f"http://127.0.0.1:{port}"
    return {
        "CLOUDFLARE_API_BASE": root + "/client/v4",
        "CLOUDFLARE_GRAPHQL_URL": root + "/client/v4/graphql",
        "CLOUDFLARE_ACCOUNT_ID": "emulator-account",
        "CLOUDFLARE_STREAM_API_TOKEN": "emulator-token",
        "STREAM_CUSTOMER_BASE_URL": root,
    }


def stream_defaults(backend, emulator_port=None):
    """Every Stream default for a backend (the emulator's own values included for `emulator`)."""
    defaults = dict(STREAM_DEFAULTS)
    if backend == "emulator":
        defaults.update(emulator_stream_defaults(emulator_port or STREAM_DEFAULTS["STREAM_EMULATOR_PORT"]))
    return defaults


def database_url(url):
    """Return a SQLAlchemy URL, choosing the psycopg 3 driver for PostgreSQL URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    INSTANCE_DIR = INSTANCE_DIR
    DATABASE_URL = os.environ.get("DATABASE_URL") or None
    SQLALCHEMY_DATABASE_URI = database_url(
        DATABASE_URL or "sqlite:///" + os.path.join(INSTANCE_DIR, "portal.db")
    )
    # hide_parameters: a database error logged with its traceback must not carry row values
    # (password hashes, emails, webhook bodies).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    EMBEDDED_REDIS_DIR = os.path.join(INSTANCE_DIR, "redis")
    RQ_QUEUES = ("default", "uploads", "webhooks")
    # How often a worker looks for jobs whose worker died (RQ's default is 10 minutes): a push to
    # Stream interrupted by a killed worker is retried within a few minutes, not eleven.
    WORKER_MAINTENANCE_SECONDS = _env_int("WORKER_MAINTENANCE_SECONDS", 60)
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", os.path.join(INSTANCE_DIR, "uploads"))
    PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000")

    # Sessions and cookies
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    # The CSRF token is tied to the session, which ends 12 h after sign-in; no shorter limit, so a
    # page left open during a long upload keeps working.
    WTF_CSRF_TIME_LIMIT = None
    # CSRF is checked by portal.security.protect_from_csrf on every unsafe request except: the
    # webhooks blueprint (its signature authenticates it), POST /api/auth/login (JSON only, which a
    # cross-site form cannot send without a CORS preflight, and it uses no existing session), and
    # API calls carrying a bearer token (no cookie is involved).
    WTF_CSRF_CHECK_DEFAULT = False

    # Request body caps. Every body is refused with 413 above MAX_CONTENT_LENGTH, checked from
    # Content-Length before anything is read (a chunked body without a length is cut off one byte past
    # the cap and refused too: see portal/request_limits.py). Sign-in, forms and JSON calls need a few
    # KB. A view that legitimately receives a large body (uploads, the webhook, captions) raises its
    # own limit with `request.max_content_length = <bytes>` before it reads, and reads the stream
    # without buffering it whole.
    MAX_CONTENT_LENGTH = 16 * 1024
    MAX_FORM_MEMORY_SIZE = 16 * 1024
    MAX_FORM_PARTS = 50

    # API bearer tokens
    API_TOKEN_TTL_SECONDS = _env_int("API_TOKEN_TTL_SECONDS", 3600)

    # Sign-in throttling (Flask-Limiter on the portal's Redis; see portal/auth/throttle.py). One budget
    # for /login and /api/auth/login. Moving windows: guessing slows to a trickle, never a lockout.
    RATELIMIT_ENABLED = True
    # Off: the X-RateLimit-* headers cost every limited request a Redis round trip; a 429 still says
    # Retry-After (portal/errors.py).
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_STRATEGY = "moving-window"
    # Fail closed: when Redis cannot be reached the limiter raises and sign-in answers 503 (see
    # portal/errors.py). Per-process memory would restart every count from zero in each process (and
    # on every restart), which is the unthrottled guessing the limits exist to stop; members already
    # signed in are not affected, and `make run` restarts its Redis.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = False
    RATELIMIT_SWALLOW_ERRORS = False
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "20 per minute;200 per hour")
    # Failed sign-ins at one account from one address (or one known device).
    LOGIN_LIMIT_PER_ACCOUNT_SOURCE = os.environ.get(
        "LOGIN_LIMIT_PER_ACCOUNT_SOURCE", "5 per 15 minutes;20 per day"
    )
    # Failed sign-ins at one account from browsers that never signed in to it (known devices are exempt).
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes;50 per hour")
    # How long a browser that signed in stays known to the account (the signed device cookie).
    SIGN_IN_DEVICE_COOKIE_DAYS = _env_int("SIGN_IN_DEVICE_COOKIE_DAYS", 180)
    # One sign-in attempt per account and source at a time (failures are counted when one ends); the
    # next waits this long for it (a double-click), then gets 429.
    SIGN_IN_IN_FLIGHT_WAIT_SECONDS = _env_int("SIGN_IN_IN_FLIGHT_WAIT_SECONDS", 3)

    # Cloudflare Stream (defaults in STREAM_DEFAULTS above). STREAM_SETTINGS_FILE is the one overlay:
    # what `flask stream setup --save` writes; portal.services.stream.settings.apply_settings_file
    # merges it at start-up into the keys the environment leaves unset (see its docstring).
    STREAM_BACKEND = os.environ.get("STREAM_BACKEND", STREAM_DEFAULTS["STREAM_BACKEND"])
    STREAM_EMULATOR_PORT = _env_int("STREAM_EMULATOR_PORT", STREAM_DEFAULTS["STREAM_EMULATOR_PORT"])
    STREAM_EMULATOR_DIR = os.path.join(INSTANCE_DIR, "stream-emulator")
    STREAM_SETTINGS_FILE = os.path.join(INSTANCE_DIR, "stream-settings.json")
    CLOUDFLARE_API_BASE = os.environ.get("CLOUDFLARE_API_BASE", STREAM_DEFAULTS["CLOUDFLARE_API_BASE"])
    CLOUDFLARE_GRAPHQL_URL = os.environ.get(
        "CLOUDFLARE_GRAPHQL_URL", STREAM_DEFAULTS["CLOUDFLARE_GRAPHQL_URL"]
    )
    CLOUDFLARE_ACCOUNT_ID = os.environ.get("CLOUDFLARE_ACCOUNT_ID")
    CLOUDFLARE_STREAM_API_TOKEN = os.environ.get("CLOUDFLARE_STREAM_API_TOKEN")
    CLOUDFLARE_STREAM_CUSTOMER_CODE = os.environ.get("CLOUDFLARE_STREAM_CUSTOMER_CODE")
    STREAM_CUSTOMER_BASE_URL = os.environ.get("STREAM_CUSTOMER_BASE_URL")
    CLOUDFLARE_STREAM_SIGNING_KEY_ID = os.environ.get("CLOUDFLARE_STREAM_SIGNING_KEY_ID")
    CLOUDFLARE_STREAM_SIGNING_KEY = os.environ.get("CLOUDFLARE_STREAM_SIGNING_KEY")
    CLOUDFLARE_STREAM_WEBHOOK_SECRET = os.environ.get("CLOUDFLARE_STREAM_WEBHOOK_SECRET")
    STREAM_HTTP_TIMEOUT = _env_int("STREAM_HTTP_TIMEOUT", STREAM_DEFAULTS["STREAM_HTTP_TIMEOUT"])
    STREAM_MAX_RETRIES = _env_int("STREAM_MAX_RETRIES", STREAM_DEFAULTS["STREAM_MAX_RETRIES"])
    STREAM_TUS_CHUNK_SIZE = _env_int("STREAM_TUS_CHUNK_SIZE", STREAM_DEFAULTS["STREAM_TUS_CHUNK_SIZE"])

    # Uploads: chunked sessions in Redis, chunks under UPLOAD_DIR, pushed to Stream by the `uploads` worker
    UPLOAD_CHUNK_SIZE = _env_int("UPLOAD_CHUNK_SIZE", 5 * MIB)
    UPLOAD_MAX_FILE_SIZE = _env_int("UPLOAD_MAX_FILE_SIZE", 30_000_000_000)  # Cloudflare's 30 GB
    UPLOAD_DIRECT_MAX_SIZE = _env_int("UPLOAD_DIRECT_MAX_SIZE", 200_000_000)  # POST /api/media/upload
    UPLOAD_SESSION_TTL = _env_int("UPLOAD_SESSION_TTL", 24 * 3600)  # idle sessions expire after this
    UPLOAD_CLEANUP_INTERVAL = _env_int("UPLOAD_CLEANUP_INTERVAL", 3600)
    UPLOAD_DISK_MARGIN = _env_int("UPLOAD_DISK_MARGIN", 256 * MIB)  # free space kept beyond reservations
    UPLOAD_JOB_TIMEOUT = _env_int("UPLOAD_JOB_TIMEOUT", 12 * 3600)  # 30 GB at ~1 MB/s fits
    UPLOAD_RETRY_INTERVALS = (60, 300, 900, 3600)
    STREAM_MAX_DURATION_SECONDS = _env_int("STREAM_MAX_DURATION_SECONDS", 36_000)  # Cloudflare's maximum
    UPLOAD_CHUNK_RATE_LIMIT = os.environ.get("UPLOAD_CHUNK_RATE_LIMIT", "3000 per minute")
    UPLOAD_STATUS_RATE_LIMIT = os.environ.get("UPLOAD_STATUS_RATE_LIMIT", "600 per minute")
    UPLOAD_START_RATE_LIMIT = os.environ.get("UPLOAD_START_RATE_LIMIT", "30 per minute;500 per day")

    # Library and playback
    # Tokens end 5 minutes inside Cloudflare's 24 h cap, so clock skew cannot push one past it.
    PLAYBACK_TOKEN_MAX_SECONDS = 24 * 3600 - 300
    PLAYBACK_TOKEN_SECONDS = _env_int("PLAYBACK_TOKEN_SECONDS", 24 * 3600 - 300)
    # The watch page's own tokens are short (player.js renews them before they end, through
    # access-url, which checks the member's tier again): a member whose tier drops, or whose account
    # is closed, stops playing within this time instead of a day.
    WATCH_TOKEN_SECONDS = _env_int("WATCH_TOKEN_SECONDS", 3600)
    # The watch page hands a member the token it minted for them and that video up to this long ago
    # (at most a quarter of its life), instead of signing one per view: every token handed out still
    # has at least 3/4 of WATCH_TOKEN_SECONDS left, and the tier is checked before each. 0: always new.
    WATCH_TOKEN_REUSE_SECONDS = _env_int("WATCH_TOKEN_REUSE_SECONDS", 900)
    # Thumbnails of protected videos: one token per video per hour, shared by everyone who may see it.
    THUMBNAIL_TOKEN_SECONDS = 2 * 3600
    LIBRARY_PAGE_SIZE = 24
    API_MEDIA_MAX_PER_PAGE = 100
    LIBRARY_SEARCH_MAX_LENGTH = 200
    # The filter lists (tags, sessions and events) are kept this long per web process.
    LIBRARY_FACETS_CACHE_SECONDS = 60
    # A rendered library grid is kept this long per web process, per viewer kind and query; any
    # commit changing a video ends it sooner (portal/services/media/grid_cache.py).
    LIBRARY_GRID_CACHE_SECONDS = 60
    CONTINUE_WATCHING_LIMIT = 12
    RELATED_VIDEOS_LIMIT = 6
    # A video watched past this share of its duration counts as finished.
    WATCH_FINISHED_FRACTION = 0.9

    # Notifications and email (SMTP; no email is sent unless MAIL_SERVER and MAIL_FROM are set)
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "true").lower() in ("1", "true", "yes", "on")
    MAIL_FROM = os.environ.get("MAIL_FROM") or None
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 30)

    # Following videos in processing: follow-up checks back off 30 s, 60 s, 120 s, 240 s, then
    # every 300 s, for at most FOLLOW_PROCESSING_CHECKS checks; the sweep catches anything older.
    FOLLOW_PROCESSING_INTERVALS = (30, 60, 120, 240, 300)
    FOLLOW_PROCESSING_CHECKS = 40
    PROCESSING_SWEEP_SECONDS = 300
    # Stream videos the portal made whose asset is gone (deleted during its upload, or replaced by a
    # fresh Stream upload) are deleted from Stream once older than the grace, by a periodic job.
    STREAM_ORPHAN_SWEEP_SECONDS = _env_int("STREAM_ORPHAN_SWEEP_SECONDS", 6 * 3600)
    STREAM_ORPHAN_GRACE_SECONDS = _env_int("STREAM_ORPHAN_GRACE_SECONDS", 3600)
    # The operations page lists uploading/processing assets unchanged for longer than this.
    OPERATIONS_STUCK_MINUTES = _env_int("OPERATIONS_STUCK_MINUTES", 15)

    # Analytics and costs: Stream's prices (USD per 1,000 minutes), how often Stream's minutes are
    # fetched (a job; pages read the cache) and the monthly projection that alerts the admins.
    STREAM_PRICE_STORED_PER_1000_MIN = float(os.environ.get("STREAM_PRICE_STORED_PER_1000_MIN", "5"))
    STREAM_PRICE_DELIVERED_PER_1000_MIN = float(os.environ.get("STREAM_PRICE_DELIVERED_PER_1000_MIN", "1"))
    COST_ALERT_MONTHLY_USD = (
        float(os.environ["COST_ALERT_MONTHLY_USD"]) if os.environ.get("COST_ALERT_MONTHLY_USD") else None
    )
    ANALYTICS_REFRESH_SECONDS = _env_int("ANALYTICS_REFRESH_SECONDS", 900)
    ANALYTICS_CACHE_SECONDS = 7 * 24 * 3600

    # Images and documents: object storage (filesystem by default; s3 for R2, AWS S3, MinIO)
    MEDIA_STORAGE_BACKEND = os.environ.get("MEDIA_STORAGE_BACKEND", "filesystem")
    MEDIA_STORAGE_DIR = os.environ.get("MEDIA_STORAGE_DIR", os.path.join(INSTANCE_DIR, "media-files"))
    S3_BUCKET = os.environ.get("S3_BUCKET")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")  # e.g. https://<account>.r2.cloudflarestorage.com
    S3_REGION = os.environ.get("S3_REGION", "auto")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY")
    MEDIA_FILE_MAX_BYTES = _env_int("MEDIA_FILE_MAX_BYTES", 100 * MIB)
    MEDIA_DOWNLOAD_SECONDS = _env_int("MEDIA_DOWNLOAD_SECONDS", 300)  # how long a download link works

    HSTS_ENABLED = False
    # Proxies in front of the app whose X-Forwarded-For and -Proto to trust (production: the TLS proxy).
    TRUSTED_PROXY_HOPS = _env_int("TRUSTED_PROXY_HOPS", 0)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

    @classmethod
    def problems(cls, settings):
        """Return what is missing for this environment to run safely (nothing by default)."""
        return []


class DevelopmentConfig(Config):
    """Local development: SQLite, embedded Redis and the Stream emulator unless told otherwise."""

    ENV_NAME = "development"
    DEBUG = False
    if Config.STREAM_BACKEND == "emulator":
        _emulator = emulator_stream_defaults(Config.STREAM_EMULATOR_PORT)
        CLOUDFLARE_API_BASE = os.environ.get("CLOUDFLARE_API_BASE", _emulator["CLOUDFLARE_API_BASE"])
        CLOUDFLARE_GRAPHQL_URL = os.environ.get("CLOUDFLARE_GRAPHQL_URL", _emulator["CLOUDFLARE_GRAPHQL_URL"])
        CLOUDFLARE_ACCOUNT_ID = Config.CLOUDFLARE_ACCOUNT_ID or _emulator["CLOUDFLARE_ACCOUNT_ID"]
        CLOUDFLARE_STREAM_API_TOKEN = (
            Config.CLOUDFLARE_STREAM_API_TOKEN or _emulator["CLOUDFLARE_STREAM_API_TOKEN"]
        )
        STREAM_CUSTOMER_BASE_URL = Config.STREAM_CUSTOMER_BASE_URL or _emulator["STREAM_CUSTOMER_BASE_URL"]


class TestConfig(DevelopmentConfig):
    """The test suite: a throwaway database, CSRF on, fast password hashing."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256"
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("TEST_DATABASE_URL", "sqlite://"))
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
    LIBRARY_FACETS_CACHE_SECONDS = 0  # test apps share a database URI: no cross-test cache
    LIBRARY_GRID_CACHE_SECONDS = 0


class ProductionConfig(Config):
    """Production: PostgreSQL, Redis and Cloudflare from the environment, secure cookies."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_ENABLED = True
    TRUSTED_PROXY_HOPS = _env_int("TRUSTED_PROXY_HOPS", 1)
    STREAM_BACKEND = os.environ.get("STREAM_BACKEND", "cloudflare")
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def problems(cls, settings):
        """Name every setting production cannot start without."""
        missing = []
        secret = settings.get("SECRET_KEY")
        if not secret or secret == DEFAULT_SECRET_KEY or len(secret) < 32:
            missing.append("SECRET_KEY (a random value of at least 32 characters)")
        database = settings.get("DATABASE_URL") or ""
        if not database:
            missing.append("DATABASE_URL")
        elif database.lower().startswith("sqlite"):
            # SQLite serializes writers but cannot lock rows, and web and worker machines cannot share it.
            missing.append("DATABASE_URL (PostgreSQL: production refuses SQLite)")
        if not settings.get("REDIS_URL"):
            missing.append("REDIS_URL")
        base_url = settings.get("PORTAL_BASE_URL") or ""
        if not base_url.startswith("https://"):
            missing.append("PORTAL_BASE_URL (the portal's public https:// address, for Stream's webhook)")
        if settings.get("STREAM_BACKEND") == "cloudflare":
            for name in (
                "CLOUDFLARE_ACCOUNT_ID",
                "CLOUDFLARE_STREAM_API_TOKEN",
                "CLOUDFLARE_STREAM_CUSTOMER_CODE",
                "CLOUDFLARE_STREAM_SIGNING_KEY_ID",
                "CLOUDFLARE_STREAM_SIGNING_KEY",
                "CLOUDFLARE_STREAM_WEBHOOK_SECRET",
            ):
                if not settings.get(name):
                    missing.append(name)
        return missing


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_env():
    """Pick the configuration class named by PORTAL_ENV (development by default)."""
    return CONFIGS[os.environ.get("PORTAL_ENV", "development")]
