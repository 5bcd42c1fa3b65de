"""The watch page's token: handed out again to the same member for the same video while it has at
least 3/4 of its life left (signing costs ~0.5 ms a view), never to anyone else, never past the policy."""

import html
import re
import types

import jwt
import pytest

from portal.extensions import db
from portal.models import MediaAccessLevel, Role, Tier
from portal.services.media import playback
from portal.services.stream import StreamClient, reset_client
from tests.library_fixtures import KEY_ID, make_asset, new_rsa_key

IFRAME_RE = re.compile(r'<iframe id="stream-player" src="([^"]+)"')
EXPIRES_RE = re.compile(r'data-expires-in="(\d+)"')
START = 1_900_000_000


@pytest.fixture
def clock(monkeypatch):
    """The playback module's clock, moved by hand."""
    fake = types.SimpleNamespace(now=START)
    monkeypatch.setattr(playback, "time", types.SimpleNamespace(time=lambda: fake.now))
    return fake


@pytest.fixture
def signatures(monkeypatch):
    """Every token the Stream client signs, in order."""
    signed = []
    real = StreamClient.sign_token

    def counting(self, *args, **kwargs):
        token = real(self, *args, **kwargs)
        signed.append(token)
        return token

    monkeypatch.setattr(StreamClient, "sign_token", counting)
    return signed


@pytest.fixture
def signing_key():
    return new_rsa_key()


@pytest.fixture
def app(app_factory, signing_key):
    """The portal signing with a local key, as `flask stream setup` leaves it (login_as uses it)."""
    app = app_factory(CLOUDFLARE_STREAM_SIGNING_KEY_ID=KEY_ID, CLOUDFLARE_STREAM_SIGNING_KEY=signing_key[1])
    with app.app_context():
        yield app


@pytest.fixture
def keyed(app, signing_key):
    """(app, the public key its tokens verify with)."""
    return app, signing_key[0].public_key()


@pytest.fixture
def video(keyed):
    asset = make_asset("Premium kata", MediaAccessLevel.TIER_SPECIFIC, Tier.PREMIUM, tags=["kata"])
    db.session.commit()
    return asset


def view(client, asset):
    """(token, data-expires-in) of one watch page view."""
    response = client.get(f"/watch/{asset.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    src = html.unescape(IFRAME_RE.search(page).group(1))
    return src.split("/")[3], int(EXPIRES_RE.search(page).group(1))


def claims(token, public_key):
    return jwt.decode(
        token,
        public_key,
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )


def test_a_member_gets_their_token_again_only_while_it_has_three_quarters_of_its_life(
    keyed, video, login_as, clock, signatures
):
    app, public_key = keyed
    life = app.config["WATCH_TOKEN_SECONDS"]
    assert app.config["WATCH_TOKEN_REUSE_SECONDS"] == life // 4 == 900
    member = login_as(Role.MEMBER, Tier.PREMIUM)
    first, expires = view(member, video)
    assert expires == life and len(signatures) == 1

    clock.now = START + 900  # 45 minutes left: still handed out, saying what it has left
    again, expires = view(member, video)
    assert again == first and expires == life - 900 and len(signatures) == 1
    assert claims(again, public_key)["exp"] == START + life

    clock.now = START + 901  # less than 3/4 left: a new one, with its whole life
    fresh, expires = view(member, video)
    assert fresh != first and expires == life and len(signatures) == 2
    assert claims(fresh, public_key)["exp"] == START + 901 + life


def test_a_token_stays_with_its_member(keyed, video, login_as, clock, signatures):
    _, public_key = keyed
    one, other = login_as(Role.MEMBER, Tier.PREMIUM), login_as(Role.MEMBER, Tier.LIFETIME)
    first, _ = view(one, video)
    second, _ = view(other, video)
    assert first != second and len(signatures) == 2
    assert claims(first, public_key)["user_id"] == str(one.user.id)
    assert claims(second, public_key)["user_id"] == str(other.user.id)
    assert view(one, video)[0] == first and view(other, video)[0] == second and len(signatures) == 2


def test_the_policy_is_asked_before_a_kept_token_is_handed_out(keyed, video, login_as, clock, signatures):
    member = login_as(Role.MEMBER, Tier.PREMIUM)
    token, _ = view(member, video)
    member.user.tier = Tier.BASIC
    db.session.commit()
    response = member.get(f"/watch/{video.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and token not in page and "<iframe" not in page
    assert video.stream_video_id not in page


def test_a_new_signing_key_is_never_served_an_old_token(keyed, video, login_as, clock, signatures):
    app, _ = keyed
    member = login_as(Role.MEMBER, Tier.PREMIUM)
    first, _ = view(member, video)
    key, pem = new_rsa_key()
    app.config["CLOUDFLARE_STREAM_SIGNING_KEY"] = pem
    reset_client(app)  # as after `flask stream setup --save`
    second, _ = view(member, video)
    assert second != first and claims(second, key.public_key())["user_id"] == str(member.user.id)


def test_no_reuse_when_switched_off_and_access_url_always_signs(keyed, video, login_as, clock, signatures):
    app, _ = keyed
    member = login_as(Role.MEMBER, Tier.PREMIUM)
    view(member, video)
    assert member.get(f"/api/media/{video.id}/access-url").status_code == 200
    assert len(signatures) == 2  # the API's tokens are new every time
    app.config["WATCH_TOKEN_REUSE_SECONDS"] = 0
    view(member, video)
    assert len(signatures) == 3
