"""The password policy (NIST SP 800-63B) on every place that sets a password."""

import hashlib

import pytest

from portal.admin.people import AccountError, create_user
from portal.auth.passwords import WeakPassword, check_new_password
from portal.extensions import db
from portal.models import User
from tests.conftest import PASSWORD, AuthActions, csrf_token_from

EMAIL = "maria.lopez@example.org"
STRONG = "umbrella-tangerine-ostrich"


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaa",
        "1234567890",
        "password123",
        "qwertyuiop",
        "iloveyou12",
        EMAIL,
        EMAIL.upper(),
        "maria.lopez",
        "Maria Lopez",
        "portalportal",
        "short",
        "x" * 257,
    ],
)
def test_common_guessable_or_personal_passwords_are_refused(password):
    with pytest.raises(WeakPassword):
        check_new_password(password, email=EMAIL, name="Maria Lopez")


@pytest.mark.parametrize(
    "password",
    [
        STRONG,
        "correct horse battery staple",
        "Zx9!kq#2Lm",
        "".join(hashlib.sha256(bytes([n])).hexdigest() for n in range(4)),
    ],
)
def test_long_and_unusual_passwords_pass_without_composition_rules(password):
    check_new_password(password, email=EMAIL, name="Maria Lopez")


def test_sixty_four_and_more_characters_are_allowed():
    check_new_password("a quiet river runs past the old mill under a pale winter sky ok", email=EMAIL)
    check_new_password("t4ngerine-" * 25 + "zz", email=EMAIL)  # 252 characters


def test_the_current_password_is_refused(app, make_user):
    user = make_user(email=EMAIL, password=STRONG)
    with pytest.raises(WeakPassword, match="different"):
        check_new_password(STRONG, email=user.email, current=user)


def test_creating_an_account_applies_the_policy(app):
    with pytest.raises(AccountError, match="too common"):
        create_user(EMAIL, "aaaaaaaaaa")
    with pytest.raises(AccountError, match="email"):
        create_user(EMAIL, EMAIL)
    assert create_user(EMAIL, STRONG).check_password(STRONG)


def test_the_account_page_refuses_a_weak_or_unchanged_password(app, client, make_user):
    user = make_user(email=EMAIL, name="Maria Lopez")
    AuthActions(client).login(EMAIL)
    for new, message in [("aaaaaaaaaa", "too common"), (EMAIL, "email"), (PASSWORD, "different")]:
        token = csrf_token_from(client.get("/account").get_data(as_text=True))
        response = client.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": PASSWORD,
                "new_password": new,
                "confirm_password": new,
            },
        )
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, user.id).check_password(PASSWORD)


def test_an_admin_cannot_set_a_weak_password(admin_client, make_user):
    user = make_user(email=EMAIL, name="Maria Lopez")
    token = csrf_token_from(admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True))
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "csrf_token": token,
            "name": "Maria Lopez",
            "role": "member",
            "tier": "free",
            "new_password": "maria.lopez",
        },
    )
    assert response.status_code == 200
    assert "email" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, user.id).check_password(PASSWORD)


def test_flask_create_user_applies_the_policy(app, runner):
    result = runner.invoke(args=["create-user", "--email", EMAIL, "--password", "aaaaaaaaaa"])
    assert result.exit_code != 0
    assert "too common" in result.output
    assert User.by_email(EMAIL) is None


def test_seed_demo_keeps_its_demo_password(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert User.by_email("admin@example.org").check_password("portal-demo")


@pytest.mark.parametrize("password", ["umbrella\x00tangerine-ostrich", "umbrella\ttangerine\nostrich"])
def test_control_characters_are_refused_as_no_sign_in_form_could_send_them_back(password):
    """/api/auth/login refuses NUL, and a browser's password field cannot hold a tab or a newline."""
    with pytest.raises(WeakPassword, match="control"):
        check_new_password(password, email=EMAIL)
