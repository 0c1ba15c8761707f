from datetime import timedelta

from portal.models.base import utcnow
from tests import factories
from tests.conftest import TEST_PASSWORD, Browserless, csrf_token_from


def login_post(client, email, password):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_owner_signs_in_and_sees_their_organization(web, two_orgs):
    response = web.login(two_orgs["owner_a"])
    assert response.headers["Location"] == "/"
    page = web.client.get("/").get_data(as_text=True)
    assert two_orgs["a"].name in page
    assert two_orgs["b"].name not in page


def test_wrong_password_is_refused_without_saying_which_part(client, two_orgs):
    wrong = login_post(client, two_orgs["owner_a"].email, "not the password at all")
    unknown = login_post(client, "nobody@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    assert "email or password is not correct" in wrong.get_data(as_text=True)
    assert "email or password is not correct" in unknown.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still anonymous


def test_repeated_failures_lock_the_account_with_backoff(client, two_orgs, session):
    user = two_orgs["owner_a"]
    for _ in range(5):
        login_post(client, user.email, "wrong password here")
    session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    response = login_post(client, user.email, TEST_PASSWORD)  # right password, but locked
    assert "too many failed attempts" in response.get_data(as_text=True)
    user.locked_until = utcnow() - timedelta(seconds=1)
    session.flush()
    assert login_post(client, user.email, TEST_PASSWORD).status_code == 302


def test_login_without_csrf_token_is_rejected(client, two_orgs):
    response = client.post("/login", data={"email": two_orgs["owner_a"].email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_disabled_user_cannot_sign_in(client, two_orgs, session):
    user = two_orgs["marketer_a"]
    user.disabled_at = utcnow()
    session.flush()
    assert login_post(client, user.email, TEST_PASSWORD).status_code == 400


def test_next_parameter_only_follows_local_paths(client, two_orgs):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"email": two_orgs["owner_a"].email, "password": TEST_PASSWORD, "csrf_token": token}
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/"


def test_next_parameter_returns_to_the_page_asked_for(client, two_orgs):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"email": two_orgs["owner_a"].email, "password": TEST_PASSWORD, "csrf_token": token}
    assert client.post("/login?next=/settings/users/", data=data).headers["Location"] == "/settings/users/"


def test_sign_out_ends_the_session(web, two_orgs):
    web.login(two_orgs["owner_a"])
    assert web.post("/logout").status_code == 303
    assert web.client.get("/").status_code == 302


def test_password_change_signs_out_other_sessions_but_not_this_one(app, web, two_orgs):
    user = two_orgs["owner_a"]
    other = Browserless(app.test_client())
    other.login(user)
    web.login(user)
    new_password = "a brand new passphrase 42"
    response = web.post(
        "/account/password",
        {"current_password": TEST_PASSWORD, "new_password": new_password, "confirm": new_password},
    )
    assert response.status_code == 303
    assert web.client.get("/").status_code == 200
    assert other.client.get("/").status_code == 302  # the other session no longer loads
    assert login_post(app.test_client(), user.email, new_password).status_code == 302


def test_weak_new_password_is_refused_with_a_reason(web, two_orgs):
    web.login(two_orgs["owner_a"])
    response = web.post("/account/password", {"current_password": TEST_PASSWORD, "new_password": "short", "confirm": "short"})
    assert response.status_code == 400
    assert "at least 12 characters" in response.get_data(as_text=True)


def test_generated_password_must_be_changed_at_first_sign_in(web, session):
    user = factories.UserFactory(must_change_password=True)
    web.login(user)
    assert web.client.get("/").headers["Location"] == "/account/password"
