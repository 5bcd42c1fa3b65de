"""Sign-in throttling: one budget for /login and /api/auth/login, per source, per account and source,
per account for unknown browsers; a known browser gets in during an attack; storage errors fail closed."""

import logging

import pytest

from portal.auth.throttle import DEVICE_COOKIE
from portal.extensions import db
from portal.models import SignInAttempt
from tests.conftest import PASSWORD, AuthActions, csrf_token_from
from tests.test_api_auth import make_user_in

OWNER = "owner@example.org"


def api_login(client, email, password, ip="10.0.0.1"):
    return client.post(
        "/api/auth/login", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def page_login(client, email, password, ip="10.0.0.1"):
    token = csrf_token_from(client.get("/login", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True))
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


@pytest.fixture
def throttled(app_factory):
    """An app with small limits and the owner's account."""

    def build(**limits):
        settings = {
            "LOGIN_LIMIT_PER_IP": "100 per minute",
            "LOGIN_LIMIT_PER_ACCOUNT_SOURCE": "50 per minute",
            "LOGIN_LIMIT_PER_ACCOUNT": "50 per minute",
        }
        settings.update(limits)
        app = app_factory(**settings)
        with app.app_context():
            make_user_in(app, OWNER)
        return app

    return build


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "\\ud800@x.org", "password": "x"}',
        '{"email": "someone@example.org", "password": "\\udfff"}',
        '{"email": "owner@example.org\\ud800", "password": "x"}',
    ],
)
def test_unencodable_strings_get_400_and_do_not_reset_the_count(throttled, caplog, body):
    app = throttled(LOGIN_LIMIT_PER_ACCOUNT="2 per minute")
    client = app.test_client()
    assert [api_login(client, OWNER, "guess", ip=f"10.0.1.{n}").status_code for n in range(2)] == [401, 401]
    with caplog.at_level(logging.WARNING):
        response = client.post("/api/auth/login", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_field"
    assert "falling back" not in caplog.text
    assert api_login(client, OWNER, PASSWORD, ip="10.0.9.9").status_code == 429


def test_limiter_keys_never_hold_the_email(throttled):
    app = throttled()
    api_login(app.test_client(), OWNER, "guess")
    keys = [key.decode() for key in app.extensions["redis"].connection.keys("*")]
    assert any("sign-in-account" in key for key in keys)
    assert not [key for key in keys if "owner" in key or "example.org" in key]


def test_unreachable_limit_storage_fails_closed_with_503(throttled, tmp_path):
    app = throttled(RATELIMIT_STORAGE_URI=f"redis+unix://{tmp_path / 'no-redis-here.sock'}")
    client = app.test_client()
    statuses = [api_login(client, OWNER, "guess").status_code for _ in range(3)]
    assert statuses == [503, 503, 503]
    response = api_login(client, OWNER, PASSWORD)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert "access_token" not in response.get_data(as_text=True)
    page = page_login(client, OWNER, PASSWORD)
    assert page.status_code == 503
    assert "session" not in page.headers.get("Set-Cookie", "") or "_user_id" not in page.get_data(
        as_text=True
    )


def test_the_per_source_budget_is_shared_by_both_endpoints(throttled):
    app = throttled(LOGIN_LIMIT_PER_IP="4 per minute")
    client = app.test_client()
    assert page_login(client, "a@example.org", "x").status_code == 200
    assert page_login(client, "b@example.org", "x").status_code == 200
    assert api_login(client, "c@example.org", "x").status_code == 401
    assert api_login(client, "d@example.org", "x").status_code == 401
    assert api_login(client, OWNER, PASSWORD).status_code == 429
    assert page_login(client, OWNER, PASSWORD).status_code == 429


def test_the_per_account_budget_is_shared_by_both_endpoints(throttled):
    app = throttled(LOGIN_LIMIT_PER_ACCOUNT="2 per minute")
    client = app.test_client()
    assert page_login(client, OWNER, "guess", ip="10.0.0.1").status_code == 200
    assert api_login(client, OWNER, "guess", ip="10.0.0.2").status_code == 401
    assert api_login(client, OWNER, PASSWORD, ip="10.0.0.3").status_code == 429
    assert page_login(client, OWNER, PASSWORD, ip="10.0.0.4").status_code == 429


def test_failures_count_per_account_and_source(throttled):
    app = throttled(LOGIN_LIMIT_PER_ACCOUNT_SOURCE="2 per minute")
    client = app.test_client()
    assert [api_login(client, OWNER, "guess", ip="10.0.0.1").status_code for _ in range(2)] == [401, 401]
    assert api_login(client, OWNER, PASSWORD, ip="10.0.0.1").status_code == 429
    assert api_login(client, OWNER, PASSWORD, ip="10.0.0.2").status_code == 200


def test_a_browser_that_signed_in_before_gets_in_while_the_account_is_attacked(throttled):
    app = throttled(LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
    members_browser = app.test_client()
    assert page_login(members_browser, OWNER, PASSWORD, ip="192.0.2.7").status_code == 302
    assert members_browser.get_cookie(DEVICE_COOKIE) is not None
    AuthActions(members_browser).logout()

    attacker = app.test_client()
    statuses = [api_login(attacker, OWNER, f"guess-{n}", ip=f"10.6.0.{n}").status_code for n in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert page_login(app.test_client(), OWNER, PASSWORD, ip="198.51.100.1").status_code == 429

    response = page_login(members_browser, OWNER, PASSWORD, ip="192.0.2.7")
    assert response.status_code == 302
    assert members_browser.get("/account").status_code == 200


def test_a_device_cookie_for_another_account_or_forged_does_not_help(throttled):
    app = throttled(LOGIN_LIMIT_PER_ACCOUNT="1 per minute")
    with app.app_context():
        make_user_in(app, "other@example.org")
    browser = app.test_client()
    assert api_login(browser, "other@example.org", PASSWORD).status_code == 200
    assert api_login(app.test_client(), OWNER, "guess", ip="10.0.0.5").status_code == 401
    assert api_login(browser, OWNER, PASSWORD, ip="10.0.0.6").status_code == 429
    forged = app.test_client()
    forged.set_cookie(DEVICE_COOKIE, browser.get_cookie(DEVICE_COOKIE).value[:-2] + "xx")
    assert api_login(forged, OWNER, PASSWORD, ip="10.0.0.7").status_code == 429


def test_refused_attempts_do_not_extend_the_wait(throttled):
    app = throttled(LOGIN_LIMIT_PER_ACCOUNT="2 per minute")
    client = app.test_client()
    for n in range(2):
        api_login(client, OWNER, "guess", ip=f"10.0.2.{n}")
    for n in range(5):
        assert api_login(client, OWNER, "guess", ip=f"10.0.3.{n}").status_code == 429
    keys = app.extensions["redis"].connection.keys("*sign-in-account/*")
    lengths = [app.extensions["redis"].connection.llen(key) for key in keys]
    assert lengths == [2]


def test_failed_attempts_are_recorded_and_shown_to_the_owner(throttled):
    app = throttled()
    attacker = app.test_client()
    api_login(attacker, OWNER, "guess-1", ip="203.0.113.9")
    page_login(attacker, OWNER, "guess-2", ip="203.0.113.10")
    api_login(attacker, "nobody@example.org", "guess", ip="203.0.113.11")
    with app.app_context():
        assert db.session.query(SignInAttempt).count() == 2
    owner = app.test_client()
    assert page_login(owner, OWNER, PASSWORD).status_code == 302
    page = owner.get("/account").get_data(as_text=True)
    assert "Failed sign-in attempts" in page
    assert "203.0.113.9" in page and "203.0.113.10" in page
    assert "203.0.113.11" not in page


def test_a_browser_that_signed_in_before_gets_in_while_its_shared_address_is_busy(throttled):
    """Behind one address (an office or carrier NAT), an attacker spending the per-address budget on
    guesses must not keep a member out of their own browser."""
    app = throttled(LOGIN_LIMIT_PER_IP="3 per minute")
    members_browser = app.test_client()
    assert page_login(members_browser, OWNER, PASSWORD, ip="192.0.2.7").status_code == 302
    AuthActions(members_browser).logout()

    attacker = app.test_client()
    statuses = [
        api_login(attacker, f"user{n}@example.org", "guess", ip="192.0.2.7").status_code for n in range(4)
    ]
    assert statuses == [401, 401, 429, 429]  # the member's sign-in spent one of three
    assert page_login(app.test_client(), OWNER, PASSWORD, ip="192.0.2.7").status_code == 429

    assert page_login(members_browser, OWNER, PASSWORD, ip="192.0.2.7").status_code == 302
    # the device cookie names only the accounts it signed in to: guessing at others stays limited
    assert api_login(members_browser, "someone@example.org", "guess", ip="192.0.2.7").status_code == 429


def attempt_while_another_is_in_flight(app, monkeypatch, password):
    """Send a wrong password; while it is being checked, send `password` from the same browser and
    address (a double-click). Returns (first response, second response)."""
    import threading

    from portal.api import auth_views
    from portal.auth import throttle

    real_authenticate, real_sleep = auth_views.authenticate, throttle.time.sleep
    second, waiting = [], threading.Event()

    def authenticate_while_another_arrives(*args):
        if not waiting.is_set() and not second:
            worker = threading.Thread(target=lambda: second.append(api_login(client, OWNER, password)))
            worker.start()
            assert waiting.wait(5), "the second attempt went ahead without waiting"
            attempt_while_another_is_in_flight.worker = worker
        return real_authenticate(*args)

    def sleep_and_say_so(seconds):
        waiting.set()
        real_sleep(seconds)

    monkeypatch.setattr(auth_views, "authenticate", authenticate_while_another_arrives)
    monkeypatch.setattr(throttle.time, "sleep", sleep_and_say_so)
    client = app.test_client()
    first = api_login(client, OWNER, "guess-1")
    attempt_while_another_is_in_flight.worker.join(10)
    return first, second[0]


def test_an_attempt_arriving_while_another_is_checked_waits_and_is_counted_afresh(throttled, monkeypatch):
    """Failures are counted when an attempt ends, so attempts sent side by side all passed the check
    (16 at once got 9 guesses past a limit of 5): the next attempt waits for the one in flight."""
    app = throttled(LOGIN_LIMIT_PER_ACCOUNT_SOURCE="1 per minute")
    first, second = attempt_while_another_is_in_flight(app, monkeypatch, "guess-2")
    assert (first.status_code, second.status_code) == (401, 429)
    assert app.extensions["redis"].connection.keys("sign-in-in-flight:*") == []


def test_a_double_click_on_sign_in_signs_in(throttled, monkeypatch):
    app = throttled(LOGIN_LIMIT_PER_ACCOUNT_SOURCE="5 per minute")
    first, second = attempt_while_another_is_in_flight(app, monkeypatch, PASSWORD)
    assert (first.status_code, second.status_code) == (401, 200)
    assert app.extensions["redis"].connection.keys("sign-in-in-flight:*") == []
