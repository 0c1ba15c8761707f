from sqlalchemy import select

from portal.models import User
from tests import factories


def test_owner_creates_a_marketer_with_a_one_time_password(web, two_orgs, session):
    web.login(two_orgs["owner_a"])
    response = web.htmx_post("/settings/users/", {"email": " New.Person@Example.com ", "role": "marketer"})
    assert response.status_code == 200
    assert 'data-testid="one-time-password"' in response.get_data(as_text=True)
    user = session.scalar(select(User).where(User.email == "new.person@example.com"))
    assert (user.org_id, user.role, user.must_change_password) == (two_orgs["a"].id, "marketer", True)


def test_duplicate_email_is_refused_inline(web, two_orgs):
    web.login(two_orgs["owner_a"])
    response = web.htmx_post("/settings/users/", {"email": two_orgs["owner_b"].email, "role": "marketer"})
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_marketer_cannot_manage_users(web, two_orgs, session):
    web.login(two_orgs["marketer_a"])
    assert web.client.get("/settings/users/").status_code == 403
    assert web.htmx_post("/settings/users/", {"email": "x@example.com", "role": "owner"}).status_code == 403
    assert session.scalar(select(User).where(User.email == "x@example.com")) is None


def test_owner_removes_a_member_who_then_cannot_sign_in(web, two_orgs, session):
    marketer = two_orgs["marketer_a"]
    web.login(two_orgs["owner_a"])
    assert web.htmx_post(f"/settings/users/{marketer.id}/remove").status_code == 200
    session.refresh(marketer)
    assert marketer.disabled_at is not None


def test_the_last_owner_cannot_be_demoted(web, two_orgs, session):
    owner = two_orgs["owner_a"]
    web.login(owner)
    response = web.htmx_post(f"/settings/users/{owner.id}/role", {"role": "marketer"})
    assert response.status_code == 400
    assert "at least one owner" in response.get_data(as_text=True)
    session.refresh(owner)
    assert owner.role == "owner"


def test_owner_promotes_a_marketer(web, two_orgs, session):
    web.login(two_orgs["owner_a"])
    marketer = two_orgs["marketer_a"]
    assert web.htmx_post(f"/settings/users/{marketer.id}/role", {"role": "owner"}).status_code == 200
    session.refresh(marketer)
    assert marketer.role == "owner"


def test_support_sees_every_tenant_and_members_see_no_tenant_list(web, two_orgs, session):
    support = factories.SupportUserFactory()
    web.login(support)
    page = web.client.get("/support/tenants").get_data(as_text=True)
    assert two_orgs["a"].name in page and two_orgs["b"].name in page
    filtered = web.client.get(f"/support/tenants?q={two_orgs['a'].slug}", headers={"HX-Request": "true"})
    assert two_orgs["a"].name in filtered.get_data(as_text=True)
    assert two_orgs["b"].name not in filtered.get_data(as_text=True)


def test_members_get_404_on_the_tenant_list(web, two_orgs):
    web.login(two_orgs["owner_a"])
    assert web.client.get("/support/tenants").status_code == 404


def test_support_user_without_an_organization_is_sent_to_the_tenant_list(web, session):
    web.login(factories.SupportUserFactory())
    assert web.client.get("/").headers["Location"] == "/support/tenants"


def test_add_a_user_offers_marketer_first(web, two_orgs):
    web.login(two_orgs["owner_a"])
    page = web.client.get("/settings/users/").get_data(as_text=True)
    add_form = page[page.index("Add a user"):]
    assert '<option selected value="marketer">' in add_form


def test_a_bad_or_taken_email_is_shown_beside_the_email_field(web, two_orgs):
    web.login(two_orgs["owner_a"])
    for email, message in (("not-an-address", "Enter a valid email address."),
                           (two_orgs["owner_b"].email, "A user with this email already exists.")):
        response = web.htmx_post("/settings/users/", {"email": email, "role": "marketer"})
        assert response.status_code == 400
        form = response.get_data(as_text=True).split("Add a user")[1]
        assert f'<span class="field-error">{message}</span>' in form
        assert form.index('name="email"') < form.index(message) < form.index('name="role"')


def test_an_owner_cannot_demote_themselves_even_beside_another_owner(web, two_orgs, session):
    owner = two_orgs["owner_a"]
    factories.UserFactory(organization=two_orgs["a"], role="owner")
    session.commit()
    web.login(owner)
    response = web.htmx_post(f"/settings/users/{owner.id}/role", {"role": "marketer"})
    assert response.status_code == 400
    assert "You cannot change your own role: ask another owner." in response.get_data(as_text=True)
    session.refresh(owner)
    assert owner.role == "owner"


def test_a_role_change_asks_first_and_confirms_after(web, two_orgs, session):
    owner, marketer = two_orgs["owner_a"], two_orgs["marketer_a"]
    web.login(owner)
    page = web.client.get("/settings/users/").get_data(as_text=True)
    assert f'hx-confirm="Change the role of {marketer.email}?"' in page
    assert f'aria-label="Role of {owner.email}"' not in page  # no control that would only be refused
    response = web.htmx_post(f"/settings/users/{marketer.id}/role", {"role": "owner"})
    assert f"{marketer.email} is now an owner." in response.get_data(as_text=True)
