"""Signed playback tokens and webhook signatures: pure functions, checked with real crypto."""

import base64
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.services.stream import StreamClient
from portal.services.stream.tokens import load_signing_key
from portal.services.stream.webhooks import signature_header, verify_webhook_signature

KEY_ID = "8f926b2b01f383510025a6b39a3e1e4a"
VIDEO = "ea95132c15732412d22c1476fa83f27a"
SECRET = "85011ed3a913c6ad5f9cf6c5573cc0a7"
BODY = (
    b'{"uid":"6b9e68b07dfee8cc2d116e4c51d6a957","readyToStream":true,'
    b'"status":{"state":"ready","pctComplete":"100.000000"}}'
)


@pytest.fixture(scope="module")
def rsa_key():
    """A 2048-bit RSA key, as Cloudflare's /stream/keys creates."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(rsa_key):
    """The PKCS#1 PEM text of the key."""
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def client(pem):
    """A client signing with the base64-encoded PEM, exactly as /stream/keys returns `pem`."""
    return StreamClient(
        api_base="http://127.0.0.1:9/client/v4",
        account_id="acct",
        api_token="t",
        customer_base_url="https://customer-abc123.cloudflarestream.com",
        signing_key_id=KEY_ID,
        signing_key_pem=base64.b64encode(pem.encode()).decode(),
        webhook_secret=SECRET,
    )


def decode(token, rsa_key):
    return jwt.decode(
        token, rsa_key.public_key(), algorithms=["RS256"], options={"require": ["exp", "nbf", "sub", "kid"]}
    )


def test_token_decodes_with_public_key_and_carries_cloudflare_claims(client, rsa_key):
    now = int(time.time())
    token = client.sign_token(VIDEO, expiry_seconds=3600, user_id=42)
    header = jwt.get_unverified_header(token)
    claims = decode(token, rsa_key)
    assert header == {"alg": "RS256", "kid": KEY_ID}
    assert claims["sub"] == VIDEO and claims["kid"] == KEY_ID
    assert now + 3600 <= claims["exp"] <= now + 3600 + 5
    assert claims["nbf"] < now and claims["user_id"] == "42"
    assert "downloadable" not in claims and "accessRules" not in claims


def test_default_expiry_is_at_most_24_hours(client, rsa_key):
    now = int(time.time())
    claims = decode(client.sign_token(VIDEO), rsa_key)
    assert claims["exp"] - now <= 86_400
    assert claims["exp"] - claims["iat"] == 86_400


@pytest.mark.parametrize("expiry", [86_401, 7 * 86_400, 0, -5, "3600", None, True])
def test_expiry_outside_cloudflare_limits_is_refused(client, expiry):
    with pytest.raises(ValueError):
        client.generate_signed_url(VIDEO, expiry_seconds=expiry)


def test_downloadable_and_access_rules_are_claims(client, rsa_key):
    rules = [
        {"type": "ip.geoip.country", "action": "allow", "country": ["GB"]},
        {"type": "any", "action": "block"},
    ]
    claims = decode(client.sign_token(VIDEO, downloadable=True, access_rules=rules), rsa_key)
    assert claims["downloadable"] is True and claims["accessRules"] == rules
    with pytest.raises(ValueError):
        client.sign_token(VIDEO, access_rules=[{"type": "any", "action": "allow"}] * 6)


def test_signed_url_puts_the_token_in_place_of_the_uid(client, rsa_key):
    url = client.generate_signed_url(VIDEO, expiry_seconds=600)
    base, token, tail = url.rsplit("/", 2)
    assert base == "https://customer-abc123.cloudflarestream.com" and tail == "iframe"
    assert VIDEO not in url and decode(token, rsa_key)["sub"] == VIDEO


def test_token_signed_by_another_key_does_not_verify(client):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        decode(client.sign_token(VIDEO), other)


def test_key_loads_from_pem_base64_pem_and_escaped_newlines(pem, rsa_key):
    numbers = rsa_key.private_numbers()
    for form in (pem, pem.encode(), base64.b64encode(pem.encode()).decode(), pem.replace("\n", "\\n")):
        assert load_signing_key(form).private_numbers() == numbers
    with pytest.raises(ValueError):
        load_signing_key("not a key")


def test_signing_without_a_key_says_how_to_get_one():
    bare = StreamClient(
        api_base="http://x/client/v4", account_id="a", api_token="t", customer_base_url="http://x"
    )
    with pytest.raises(ValueError, match="flask stream setup"):
        bare.generate_signed_url(VIDEO)


def test_thumbnail_of_protected_video_is_signed(client, rsa_key):
    plain = client.get_thumbnail_url(VIDEO, time_seconds=12, width=320, height=180)
    assert plain == (
        f"https://customer-abc123.cloudflarestream.com/{VIDEO}/thumbnails/thumbnail.jpg"
        "?time=12s&width=320&height=180&fit=crop"
    )
    signed = client.get_thumbnail_url(VIDEO, signed=True, expiry_seconds=300)
    token = signed.split("/")[3]
    assert VIDEO not in signed and decode(token, rsa_key)["sub"] == VIDEO
    with pytest.raises(ValueError):
        client.get_thumbnail_url(VIDEO, fit="stretch")


def test_embed_code_has_player_options_and_escapes_attributes(client):
    html = client.get_embed_code(
        VIDEO,
        options={
            "autoplay": True,
            "muted": True,
            "loop": False,
            "controls": False,
            "preload": "metadata",
            "poster": "https://example.org/p.jpg?a=1&b=2",
            "defaultTextTrack": "en",
            "startTime": "1m2s",
            "primaryColor": "#f48120",
            "letterboxColor": "transparent",
            "title": 'Kata "1" <b>',
        },
    )
    assert (
        f'src="https://customer-abc123.cloudflarestream.com/{VIDEO}/iframe?autoplay=true&amp;muted=true'
        in html
    )
    assert "loop=" not in html and "controls=false" in html and "preload=metadata" in html
    assert "poster=https%3A%2F%2Fexample.org%2Fp.jpg%3Fa%3D1%26b%3D2" in html
    assert "primaryColor=%23f48120" in html and "letterboxColor=transparent" in html
    assert 'title="Kata &#34;1&#34; &lt;b&gt;"' in html
    assert (
        'allow="accelerometer; gyroscope; autoplay; encrypted-media; picture-in-picture;" '
        'allowfullscreen="true"'
    ) in html
    # The 16:9 box is the stylesheet's (the portal's CSP forbids inline style attributes).
    assert '<div class="stream-player">' in html and "style=" not in html
    css = (Path(__file__).parent.parent / "static" / "css" / "portal.css").read_text(encoding="utf-8")
    assert ".stream-player { position: relative; padding-top: 56.25%; }" in css
    with pytest.raises(ValueError):
        client.get_embed_code(VIDEO, options={"autoplai": True})


def test_embed_code_with_token_hides_the_uid(client):
    token = client.sign_token(VIDEO, expiry_seconds=60)
    html = client.get_embed_code(VIDEO, signed_token=token)
    assert f"/{token}/iframe" in html and VIDEO not in html


# -- webhook signatures (reliability cases C2-C4) --------------------------------------------------

NOW = 1_700_000_000


def signed(body=BODY, secret=SECRET, at=NOW):
    return signature_header(body, secret, timestamp=at)


def test_valid_signature_is_accepted(client):
    assert client.verify_webhook_signature(BODY, signed(), now=NOW)
    assert verify_webhook_signature(BODY, signed(), SECRET, now=NOW + 299)


def test_header_matches_cloudflare_documented_format():
    header = signed()
    assert header.startswith(f"time={NOW},sig1=") and len(header.split("sig1=")[1]) == 64


def test_one_tampered_byte_is_rejected(client):
    tampered = BODY.replace(b"100.000000", b"100.000001")
    assert not client.verify_webhook_signature(tampered, signed(), now=NOW)


def test_reserialised_json_is_rejected(client):
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert reserialised != BODY
    assert not client.verify_webhook_signature(reserialised, signed(), now=NOW)
    assert not client.verify_webhook_signature(BODY.decode(), signed(), now=NOW)


def test_wrong_secret_is_rejected(client):
    assert not client.verify_webhook_signature(BODY, signed(secret="another"), now=NOW)
    assert not verify_webhook_signature(BODY, signed(), None, now=NOW)


@pytest.mark.parametrize("skew", [301, 600, -301, -600])
def test_old_and_future_timestamps_are_rejected(client, skew):
    assert not client.verify_webhook_signature(BODY, signed(at=NOW + skew), now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "time=abc,sig1=" + "0" * 64,
        f"time={NOW}",
        f"sig1={'0' * 64}",
        f"time={NOW},sig1=xyz",
        f"time={NOW},sig1={'g' * 64}",
        f"time={NOW},sig1={'0' * 63}",
        f"time={NOW},time={NOW},sig1={'0' * 64}",
        f"time=-{NOW},sig1={'0' * 64}",
        12345,
    ],
)
def test_malformed_headers_are_rejected_without_raising(client, header):
    assert client.verify_webhook_signature(BODY, header, now=NOW) is False


def test_absurd_timestamp_against_the_real_clock_is_rejected_without_raising(client):
    header = f"time={'9' * 400},sig1={'0' * 64}"  # int - float(time.time()) would overflow
    assert client.verify_webhook_signature(BODY, header) is False


def test_any_matching_sig1_is_accepted_during_rotation(client):
    good = signed().split("sig1=")[1]
    header = f"time={NOW},sig1={'0' * 64},sig1={good}"
    assert client.verify_webhook_signature(BODY, header, now=NOW)
