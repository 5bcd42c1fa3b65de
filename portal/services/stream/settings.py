"""Stream client settings: config keys, defaults per backend, and the `flask stream setup --save` file."""

import json
import os
import tempfile

CLOUDFLARE_API_BASE = "https://api.cloudflare.com/client/v4"
CLOUDFLARE_GRAPHQL_URL = "https://api.cloudflare.com/client/v4/graphql"
EMULATOR_API_BASE = "http://127.0.0.1:8788/client/v4"
EMULATOR_ACCOUNT_ID = "emulator-account"
EMULATOR_API_TOKEN = "emulator-token"
BACKENDS = ("emulator", "cloudflare")
SAVED_KEYS = (
    "CLOUDFLARE_STREAM_SIGNING_KEY_ID",
    "CLOUDFLARE_STREAM_SIGNING_KEY",
    "CLOUDFLARE_STREAM_WEBHOOK_SECRET",
)


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
    """The JSON written by `flask stream setup --save`, or {} when there is none."""
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
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


def fill_from_settings_file(config, api_base, account_id):
    """Signing key pair and webhook secret from the settings file, for whatever config leaves unset.

    The file is used only when it was written for the same API base and account, so an
    emulator key never signs tokens meant for Cloudflare.
    """
    saved = read_settings_file(config.get("STREAM_SETTINGS_FILE"))
    if (
        not saved
        or saved.get("CLOUDFLARE_API_BASE", api_base) != api_base
        or saved.get("CLOUDFLARE_ACCOUNT_ID", account_id) != account_id
    ):
        return {}
    filled = {}
    pair = ("CLOUDFLARE_STREAM_SIGNING_KEY_ID", "CLOUDFLARE_STREAM_SIGNING_KEY")
    if not any(config.get(k) for k in pair) and all(saved.get(k) for k in pair):
        filled.update({k: saved[k] for k in pair})
    if not config.get("CLOUDFLARE_STREAM_WEBHOOK_SECRET") and saved.get("CLOUDFLARE_STREAM_WEBHOOK_SECRET"):
        filled["CLOUDFLARE_STREAM_WEBHOOK_SECRET"] = saved["CLOUDFLARE_STREAM_WEBHOOK_SECRET"]
    return filled


def client_kwargs(config):
    """StreamClient keyword arguments from a config mapping; missing Cloudflare credentials raise."""
    backend = (config.get("STREAM_BACKEND") or "emulator").lower()
    if backend not in BACKENDS:
        raise ValueError(f"STREAM_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    emulator = backend == "emulator"
    api_base = (
        config.get("CLOUDFLARE_API_BASE") or (EMULATOR_API_BASE if emulator else CLOUDFLARE_API_BASE)
    ).rstrip("/")
    account_id = config.get("CLOUDFLARE_ACCOUNT_ID") or (EMULATOR_ACCOUNT_ID if emulator else None)
    api_token = config.get("CLOUDFLARE_STREAM_API_TOKEN") or (EMULATOR_API_TOKEN if emulator else None)
    customer_base = customer_base_for(config, api_base, emulator)
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
    merged = dict(fill_from_settings_file(config, api_base, account_id))
    merged.update({k: config[k] for k in SAVED_KEYS if config.get(k)})
    return {
        "api_base": api_base,
        "account_id": account_id,
        "api_token": api_token,
        "customer_base_url": customer_base,
        "signing_key_id": merged.get("CLOUDFLARE_STREAM_SIGNING_KEY_ID"),
        "signing_key_pem": merged.get("CLOUDFLARE_STREAM_SIGNING_KEY"),
        "webhook_secret": merged.get("CLOUDFLARE_STREAM_WEBHOOK_SECRET"),
        "timeout": float(config.get("STREAM_HTTP_TIMEOUT") or 30),
        "max_retries": int(4 if config.get("STREAM_MAX_RETRIES") is None else config["STREAM_MAX_RETRIES"]),
        "tus_chunk_size": int(config.get("STREAM_TUS_CHUNK_SIZE") or 52_428_800),
        "graphql_url": config.get("CLOUDFLARE_GRAPHQL_URL") or CLOUDFLARE_GRAPHQL_URL,
    }
