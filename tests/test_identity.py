"""One account per mailbox: emails stored normalized and compared case-insensitively, lookalikes
refused; names without bidi or invisible control characters."""

import pytest
from sqlalchemy import func, select

from portal.admin.people import AccountError, create_user, update_user
from portal.extensions import db
from portal.models import User
from tests.conftest import AuthActions, csrf_token_from

PASSWORD = "a-long-password-for-tests"


def user_count():
    return db.session.scalar(select(func.count()).select_from(User))


def test_composed_and_decomposed_accents_are_one_account(app):
    first = create_user("jose\u0301@example.org", PASSWORD)
    assert first.email == "jos\u00e9@example.org"
    with pytest.raises(AccountError, match="already exists"):
        create_user("jos\u00e9@example.org", PASSWORD)
    with pytest.raises(AccountError, match="already exists"):
        create_user("JOSE\u0301@Example.ORG", PASSWORD)
    assert user_count() == 1


def test_sign_in_finds_the_account_however_the_accent_is_typed(app, client):
    create_user("jos\u00e9@example.org", PASSWORD)
    db.session.commit()
    assert AuthActions(client).login("JOSE\u0301@example.org", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "email",
    [
        "\uff41\uff44\uff4d\uff49\uff4e@example.org",  # fullwidth "admin"
        "admin@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.org",  # fullwidth domain
        "p\u0430ypal@example.org",  # Cyrillic а among Latin letters
        "admin@ex\u0430mple.org",  # Cyrillic а in the domain
        "\u0391dmin@example.org",  # Greek capital alpha
        "ad\u2060min@example.org",  # word joiner
    ],
)
def test_lookalike_addresses_are_refused(app, email):
    with pytest.raises(AccountError):
        create_user(email, PASSWORD)
    assert user_count() == 0


@pytest.mark.parametrize(
    "email",
    [
        "\u0430\u0434\u043c\u0438\u043d@example.org",
        "jos\u00e9@example.org",
        "\u5c71\u7530\u305f\u308d\u3046@example.jp",
    ],
)
def test_addresses_in_one_script_are_accepted(app, email):
    assert create_user(email, PASSWORD).email == email


def test_the_admin_page_refuses_a_lookalike_address(admin_client):
    before = user_count()
    token = csrf_token_from(admin_client.get("/admin/users/new").get_data(as_text=True))
    response = admin_client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "email": "p\u0430ypal@example.org",
            "password": PASSWORD,
            "role": "member",
            "tier": "free",
        },
    )
    assert response.status_code == 200
    assert "one script" in response.get_data(as_text=True)
    assert user_count() == before


@pytest.mark.parametrize(
    "name",
    [
        "\u202eevil",
        "Eve\u200b",
        "Bob\u2066x\u2069",
        "Ann\u00adne",
        "Tab\tbed",
        "line\u2028break",
        "\u3164",  # Hangul filler: a letter that shows nothing (a blank name)
        "Eve\u3164",
        "\uffa0\u115f",
        "\u2800",  # Braille blank
        "Bo\u034fb",  # combining grapheme joiner
    ],
)
def test_names_with_invisible_or_bidi_characters_are_refused(app, admin_client, make_user, name):
    with pytest.raises(AccountError, match="invisible"):
        create_user("new@example.org", PASSWORD, name=name)
    db.session.rollback()
    user = make_user(name="Plain")
    with pytest.raises(AccountError, match="invisible"):
        update_user(user, name, user.role, user.tier)
    db.session.rollback()
    token = csrf_token_from(admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True))
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={"csrf_token": token, "name": name, "role": "member", "tier": "free"},
    )
    assert response.status_code == 200
    db.session.rollback()
    assert db.session.get(User, user.id).name == "Plain"


@pytest.mark.parametrize(
    "name", ["Zo\u00eb", "\u0645\u062d\u0645\u062f", "\U0001f469\u200d\U0001f4bb Dev", "Ren\u00e9e O'Neil"]
)
def test_ordinary_names_are_accepted(app, name):
    assert create_user("named@example.org", PASSWORD, name=name).name == name
