"""The Stream client's pure parts: tus chunk planner, metadata, captions, config and init_app."""

import base64
import json
import os
import stat

import pytest
from flask import Flask

from portal.services.stream import (
    StreamClient,
    get_client,
    init_app,
    plan_tus_chunks,
    reset_client,
    srt_to_vtt,
)
from portal.services.stream.captions import to_webvtt
from portal.services.stream.fields import list_params, to_json_fields, to_tus_pairs
from portal.services.stream.settings import apply_settings_file, write_settings_file
from portal.services.stream.transport import parse_retry_after
from portal.services.stream.tus import (
    CHUNK_MULTIPLE,
    MAX_CHUNK,
    MIN_CHUNK,
    encode_upload_metadata,
    normalize_chunk_size,
)

MiB = 1024 * 1024


def assert_cloudflare_plan(chunks, file_size):
    """Contiguous cover of the file; every non-final chunk a legal Cloudflare chunk size."""
    assert sum(length for _, length in chunks) == file_size
    offset = 0
    for i, (start, length) in enumerate(chunks):
        assert start == offset and length > 0
        if i < len(chunks) - 1:
            assert MIN_CHUNK <= length <= MAX_CHUNK and length % CHUNK_MULTIPLE == 0
        offset += length


@pytest.mark.parametrize("file_size", [1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 200 * MiB + 7, 30 * 10**9])
@pytest.mark.parametrize("chunk_size", [1, 5 * MiB, 50 * MiB, 50 * MiB + 12345, 10**9])
def test_plan_obeys_cloudflare_chunk_rules(file_size, chunk_size):
    assert_cloudflare_plan(list(plan_tus_chunks(file_size, chunk_size)), file_size)


def test_configured_sizes_are_rounded_into_range():
    assert normalize_chunk_size(52_428_800) == 52_428_800
    assert normalize_chunk_size(52_428_800 + 100_000) == 52_428_800
    assert normalize_chunk_size(1) == MIN_CHUNK
    assert normalize_chunk_size(10**12) == MAX_CHUNK
    assert normalize_chunk_size(300_000, min_chunk=1) == CHUNK_MULTIPLE
    with pytest.raises(ValueError):
        normalize_chunk_size(0)


def test_small_files_are_one_chunk_and_30_gb_needs_573():
    assert list(plan_tus_chunks(1000)) == [(0, 1000)]
    assert len(list(plan_tus_chunks(30 * 10**9, 50 * MiB))) == 573


def test_test_override_of_the_minimum_and_resuming_mid_file():
    chunks = list(plan_tus_chunks(1 * MiB, 256 * 1024, min_chunk=256 * 1024))
    assert [length for _, length in chunks] == [256 * 1024] * 4
    resumed = list(plan_tus_chunks(11 * MiB, 5 * MiB, start=3_000_001))
    assert resumed == [(3_000_001, 5 * MiB), (3_000_001 + 5 * MiB, 11 * MiB - 3_000_001 - 5 * MiB)]
    with pytest.raises(ValueError):
        list(plan_tus_chunks(10, start=11))


def test_upload_metadata_has_bare_commas_base64_values_and_flags():
    pairs, creator = to_tus_pairs(
        {
            "title": "Kata 1",
            "require_signed_urls": True,
            "creator": "u7",
            "max_duration_seconds": 600,
            "meta": {"asset": "a1"},
        }
    )
    header = encode_upload_metadata(pairs)
    assert header == "name S2F0YSAx,requiresignedurls,maxdurationseconds NjAw,asset YTE="
    assert " ," not in header and ", " not in header and creator == "u7"
    assert encode_upload_metadata(to_tus_pairs({"require_signed_urls": False})[0]) == ""
    with pytest.raises(ValueError):
        encode_upload_metadata([("bad key", "x")])


def test_json_fields_map_portal_names_and_refuse_typos():
    assert to_json_fields(
        {"name": "A", "require_signed_urls": 1, "thumbnail_timestamp_pct": 0.5, "meta": {"x": "y"}}
    ) == {"meta": {"x": "y", "name": "A"}, "requireSignedURLs": True, "thumbnailTimestampPct": 0.5}
    assert to_json_fields({"requireSignedURLs": False}) == {"requireSignedURLs": False}
    with pytest.raises(ValueError):
        to_json_fields({"require_signed_url": True})


def test_list_filters_become_cloudflare_query_parameters():
    assert list_params(
        {"search": "kata", "status": ["ready", "error"], "include_counts": True, "limit": 50, "before": None}
    ) == {"search": "kata", "status": "ready,error", "include_counts": "true", "limit": 50}
    with pytest.raises(ValueError):
        list_params({"limit": 5000})
    with pytest.raises(ValueError):
        list_params({"sort": "name"})


def test_srt_becomes_webvtt():
    srt = (
        "\ufeff1\r\n0:00:01,000 --> 00:00:04,250\r\nOss!\r\n\r\n2\r\n00:00:05,000 --> 00:00:06,000\r\nRei\r\n"
    )
    assert srt_to_vtt(srt) == (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.250\nOss!\n\n2\n00:00:05.000 --> 00:00:06.000\nRei\n"
    )
    assert to_webvtt(b"WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n").startswith(b"WEBVTT")
    with pytest.raises(ValueError):
        to_webvtt(b"just some text")
    with pytest.raises(ValueError):
        to_webvtt(b"\xff\xfe not utf-8")


def test_retry_after_parses_seconds_and_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None


def test_from_config_defaults_to_the_emulator():
    client = StreamClient.from_config({})
    assert client.stream_url == "http://127.0.0.1:8788/client/v4/accounts/emulator-account/stream"
    assert client.customer_base_url == "http://127.0.0.1:8788"
    assert client.http.timeout == 30.0 and client.http.max_retries == 4
    assert client.tus_chunk_size == 52_428_800 and client.signing_key is None


def test_from_config_for_cloudflare_needs_credentials_and_builds_customer_domain():
    with pytest.raises(ValueError, match="CLOUDFLARE_ACCOUNT_ID"):
        StreamClient.from_config({"STREAM_BACKEND": "cloudflare"})
    client = StreamClient.from_config(
        {
            "STREAM_BACKEND": "cloudflare",
            "CLOUDFLARE_ACCOUNT_ID": "acct",
            "CLOUDFLARE_STREAM_API_TOKEN": "tok",
            "CLOUDFLARE_STREAM_CUSTOMER_CODE": "abc",
            "STREAM_HTTP_TIMEOUT": "5",
            "STREAM_MAX_RETRIES": 0,
            "STREAM_TUS_CHUNK_SIZE": "104857600",
        }
    )
    assert client.api_base == "https://api.cloudflare.com/client/v4"
    assert client.customer_base_url == "https://customer-abc.cloudflarestream.com"
    assert client.http.timeout == 5.0 and client.http.max_retries == 0
    assert client.tus_chunk_size == 104_857_600
    assert "tok" not in repr(client)


def test_settings_file_fills_the_key_pair_and_secret(tmp_path, rsa_pem_b64):
    path = tmp_path / "stream.json"
    write_settings_file(
        str(path),
        {
            "CLOUDFLARE_STREAM_SIGNING_KEY_ID": "kid1",
            "CLOUDFLARE_STREAM_SIGNING_KEY": rsa_pem_b64,
            "CLOUDFLARE_STREAM_WEBHOOK_SECRET": "s3cret",
            "CLOUDFLARE_API_BASE": "http://127.0.0.1:8788/client/v4",
            "CLOUDFLARE_ACCOUNT_ID": "emulator-account",
        },
    )
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    def overlaid(config):
        """A client from config with the settings file merged in, as init_app does at start-up."""
        apply_settings_file(config)
        return StreamClient.from_config(config)

    client = overlaid({"STREAM_SETTINGS_FILE": str(path)})
    assert client.signing_key_id == "kid1" and client.webhook_secret == "s3cret"
    assert client.signing_key is not None
    configured = overlaid({"STREAM_SETTINGS_FILE": str(path), "CLOUDFLARE_STREAM_WEBHOOK_SECRET": "from-env"})
    assert configured.webhook_secret == "from-env"
    elsewhere = overlaid(
        {
            "STREAM_SETTINGS_FILE": str(path),
            "STREAM_BACKEND": "cloudflare",
            "CLOUDFLARE_ACCOUNT_ID": "a",
            "CLOUDFLARE_STREAM_API_TOKEN": "t",
            "CLOUDFLARE_STREAM_CUSTOMER_CODE": "c",
        }
    )
    assert elsewhere.signing_key_id is None and elsewhere.webhook_secret is None


def test_a_re_read_settings_file_replaces_its_own_values_but_never_the_environments(tmp_path):
    path = tmp_path / "stream.json"
    write_settings_file(str(path), {"CLOUDFLARE_STREAM_WEBHOOK_SECRET": "first"})
    app = Flask(__name__)
    app.config.update(STREAM_SETTINGS_FILE=str(path))
    init_app(app)
    assert app.config["CLOUDFLARE_STREAM_WEBHOOK_SECRET"] == "first"
    write_settings_file(str(path), {"CLOUDFLARE_STREAM_WEBHOOK_SECRET": "second"})
    reset_client(app)
    assert get_client(app).webhook_secret == app.config["CLOUDFLARE_STREAM_WEBHOOK_SECRET"] == "second"
    app.config["CLOUDFLARE_STREAM_WEBHOOK_SECRET"] = "from-env"
    reset_client(app)
    assert app.config["CLOUDFLARE_STREAM_WEBHOOK_SECRET"] == "from-env"


def test_init_app_is_lazy_and_builds_from_config_on_first_use():
    app = Flask(__name__)
    app.config.update(STREAM_BACKEND="nonsense")
    init_app(app)
    with pytest.raises(ValueError, match="STREAM_BACKEND"):
        get_client(app)
    app.config["STREAM_BACKEND"] = "emulator"
    assert get_client(app).stream_url.endswith("/accounts/emulator-account/stream")
    reset_client(app)
    app.config["CLOUDFLARE_ACCOUNT_ID"] = "other"
    assert get_client(app).account_id == "other"


@pytest.fixture(scope="module")
def rsa_pem_b64():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return base64.b64encode(pem).decode()


def test_settings_file_is_plain_json(tmp_path):
    path = tmp_path / "s.json"
    write_settings_file(str(path), {"A": "1"})
    write_settings_file(str(path), {"A": "2"})
    assert json.loads(path.read_text()) == {"A": "2"} and len(list(tmp_path.iterdir())) == 1


def test_an_unreadable_settings_file_is_ignored_and_named_in_the_log(tmp_path, caplog):
    path = tmp_path / "stream.json"
    path.write_text("{not json", encoding="utf-8")
    config = {"STREAM_SETTINGS_FILE": str(path)}
    assert apply_settings_file(config) == {} and not config.get("CLOUDFLARE_STREAM_WEBHOOK_SECRET")
    assert str(path) in caplog.text and "ignored" in caplog.text
