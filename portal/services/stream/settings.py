"""Stream client settings: the config keys the client reads, and the one settings-file overlay.

Every default lives in `config.py` (STREAM_DEFAULTS, stream_defaults). The file written by
`flask stream setup --save` (STREAM_SETTINGS_FILE, `instance/stream-settings.json` by default) is an
overlay merged into the app's config by `apply_settings_file`, called at start-up by
`portal.services.stream.init_app` and again by `reset_client` after `flask stream setup --save`:

- it only fills keys the environment (or the config class) leaves unset;
- it only applies when it was written for the same CLOUDFLARE_API_BASE and CLOUDFLARE_ACCOUNT_ID,
  so an emulator key never signs tokens meant for Cloudflare;
- the signing key id and key go together: both from the file, or neither.
"""

import json
import logging
import os
import tempfile

from config import CLOUDFLARE_API_BASE, STREAM_BACKENDS, stream_defaults

from .tokens import load_signing_key

log = logging.getLogger(__name__)

SIGNING_PAIR = ("CLOUDFLARE_STREAM_SIGNING_KEY_ID", "CLOUDFLARE_STREAM_SIGNING_KEY")
SECRET_KEY = "CLOUDFLARE_STREAM_WEBHOOK_SECRET"
SAVED_KEYS = (*SIGNING_PAIR, SECRET_KEY)


def setting(config, name):
    """A Stream setting from config, else its default for the configured backend (config.py)."""
    value = config.get(name)
    if value is not None and value != "":
        return value
    backend = (config.get("STREAM_BACKEND") or stream_defaults(None)["STREAM_BACKEND"]).lower()
    return stream_defaults(backend, config.get("STREAM_EMULATOR_PORT")).get(name)


def customer_base_for(config, api_base, emulator):
    """STREAM_CUSTOMER_BASE_URL, else customer-<CODE>.cloudflarestream.com, else (emulator) its root."""
    if config.get("STREAM_CUSTOMER_BASE_URL"):
        return config["STREAM_CUSTOMER_BASE_URL"].rstrip("/")
    if config.get("CLOUDFLARE_STREAM_CUSTOMER_CODE"):
        return f"https://customer-{config['CLOUDFLARE_STREAM_CUSTOMER_CODE']}.cloudflarestream.com"
    if emulator and api_base.rstrip("/").endswith("/client/v4") and api_base != CLOUDFLARE_API_BASE:
        return api_base.rstrip("/")[: -len("/client/v4")]
    return None


def read_settings_file(path):
    """The JSON written by `flask stream setup --save`, or {} when there is none (or it is unreadable)."""
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        log.error("Stream settings file %s is ignored: %s (run `flask stream setup --save` again)", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def write_settings_file(path, settings):
    """Write settings as JSON readable only by the owner (0600), atomically."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".stream-settings-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(settings, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def apply_settings_file(config, previously_filled=None):
    """Merge STREAM_SETTINGS_FILE into `config` (rules in the module docstring); return what it filled.

    `previously_filled` (this function's earlier return value) is taken back first, so a re-read
    after `flask stream setup --save` replaces the file's old values but never an environment's.
    """
    for name, value in (previously_filled or {}).items():
        if config.get(name) == value:
            config[name] = None
    saved = read_settings_file(config.get("STREAM_SETTINGS_FILE"))
    api_base = (setting(config, "CLOUDFLARE_API_BASE") or "").rstrip("/")
    account_id = setting(config, "CLOUDFLARE_ACCOUNT_ID")
    if (
        not saved
        or saved.get("CLOUDFLARE_API_BASE", api_base).rstrip("/") != api_base
        or saved.get("CLOUDFLARE_ACCOUNT_ID", account_id) != account_id
    ):
        return {}
    filled = {}
    if not any(config.get(k) for k in SIGNING_PAIR) and all(saved.get(k) for k in SIGNING_PAIR):
        filled.update({k: saved[k] for k in SIGNING_PAIR})
    if not config.get(SECRET_KEY) and saved.get(SECRET_KEY):
        filled[SECRET_KEY] = saved[SECRET_KEY]
    config.update(filled)
    return filled


def signing_key_problem(config):
    """A message naming CLOUDFLARE_STREAM_SIGNING_KEY when it is set but cannot be loaded, else None."""
    try:
        load_signing_key(config.get("CLOUDFLARE_STREAM_SIGNING_KEY"))
    except ValueError as exc:
        return f"CLOUDFLARE_STREAM_SIGNING_KEY is malformed ({exc}); signed playback cannot work"
    return None


def client_kwargs(config):
    """StreamClient keyword arguments from a config mapping; missing Cloudflare credentials raise."""
    backend = (setting(config, "STREAM_BACKEND")).lower()
    if backend not in STREAM_BACKENDS:
        raise ValueError(f"STREAM_BACKEND must be one of {', '.join(STREAM_BACKENDS)}, not {backend!r}")
    api_base = setting(config, "CLOUDFLARE_API_BASE").rstrip("/")
    account_id = setting(config, "CLOUDFLARE_ACCOUNT_ID")
    api_token = setting(config, "CLOUDFLARE_STREAM_API_TOKEN")
    customer_base = customer_base_for(config, api_base, backend == "emulator")
    if customer_base is None and backend == "emulator":
        customer_base = setting(config, "STREAM_CUSTOMER_BASE_URL")
    missing = [
        name
        for name, value in (
            ("CLOUDFLARE_ACCOUNT_ID", account_id),
            ("CLOUDFLARE_STREAM_API_TOKEN", api_token),
            ("CLOUDFLARE_STREAM_CUSTOMER_CODE", customer_base),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"Stream backend {backend!r} needs config: {', '.join(missing)}")
    problem = signing_key_problem(config)
    if problem:
        raise ValueError(problem)
    return {
        "api_base": api_base,
        "account_id": account_id,
        "api_token": api_token,
        "customer_base_url": customer_base,
        "signing_key_id": config.get("CLOUDFLARE_STREAM_SIGNING_KEY_ID") or None,
        "signing_key_pem": config.get("CLOUDFLARE_STREAM_SIGNING_KEY") or None,
        "webhook_secret": config.get(SECRET_KEY) or None,
        "timeout": float(setting(config, "STREAM_HTTP_TIMEOUT")),
        "max_retries": int(setting(config, "STREAM_MAX_RETRIES")),
        "tus_chunk_size": int(setting(config, "STREAM_TUS_CHUNK_SIZE")),
        "graphql_url": setting(config, "CLOUDFLARE_GRAPHQL_URL"),
    }
