"""User ids from bearer tokens and sessions are bounded before they reach the database."""

import time

import pytest

from tests.test_api_auth import bearer, claims_for, signed

HUGE_IDS = ["9" * 40, str(2**63), str(2**31), "-1", "0"]


@pytest.mark.parametrize("user_id", HUGE_IDS)
def test_a_token_naming_an_impossible_user_id_is_401(app, client, make_user, user_id):
    user = make_user()
    token = signed(app, claims_for(user, sub=user_id))
    response = client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize("user_id", HUGE_IDS)
def test_a_session_naming_an_impossible_user_id_is_anonymous(client, user_id):
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:1"
        session["signed_in_at"] = time.time()
    response = client.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.get("/api/auth/me").status_code == 401
