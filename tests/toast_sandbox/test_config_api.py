"""Configuration paging (page tokens, 409 on publish, lastModified), restaurants and partners endpoints."""
import base64
from datetime import timedelta

from portal.toast.timefmt import format_toast_ts
from tests.toast_sandbox.conftest import FIXED_NOW
from toast_sandbox import PARTNER_CLIENT

NEXT = "Toast-Next-Page-Token"


def all_pages(api, path: str, params: dict | None = None) -> list[list[dict]]:
    pages, token = [], None
    while True:
        response = api.get(path, params={**(params or {}), **({"pageToken": token} if token else {})})
        assert response.status_code == 200, response.json
        pages.append(response.json)
        token = response.headers.get(NEXT)
        if not token:
            return pages


def test_dining_options_page_with_tokens(api):
    pages = all_pages(api, "/config/v2/diningOptions")
    assert [len(page) for page in pages] == [2, 2, 1]
    options = [option for page in pages for option in page]
    assert [(option["name"], option["behavior"], option["curbside"]) for option in options] == [
        ("Dine In", "DINE_IN", False), ("Take Out", "TAKE_OUT", False), ("Curbside", "TAKE_OUT", True),
        ("Delivery", "DELIVERY", False), ("DoorDash Delivery", "DELIVERY", False)]


def test_revenue_centers_page_with_tokens(api):
    pages = all_pages(api, "/config/v2/revenueCenters")
    assert len(pages) == 2 and {center["name"] for page in pages for center in page} >= {"Dining Room", "Online"}


def test_publishing_config_invalidates_page_tokens(make_api):
    api = make_api()
    token = api.get("/config/v2/diningOptions").headers[NEXT]
    assert api.get("/config/v2/diningOptions", params={"pageToken": token}).status_code == 200
    api.state.publish_config_change(api.state.restaurant_guids[0])
    conflict = api.get("/config/v2/diningOptions", params={"pageToken": token})
    assert conflict.status_code == 409 and conflict.json["fieldName"] == "pageToken"
    assert len([item for page in all_pages(api, "/config/v2/diningOptions") for item in page]) == 5
    assert api.get("/config/v2/revenueCenters", params={"pageToken": "garbage"}).status_code == 400
    other = api.get("/config/v2/revenueCenters").headers[NEXT]
    assert api.get("/config/v2/diningOptions", params={"pageToken": other}).status_code == 400


def test_last_modified_returns_only_changed_objects(make_api):
    api = make_api()
    curbside = api.state.world.restaurants[0].dining_options[2]
    api.state.advance_time(minutes=5)
    api.state.publish_config_change(api.state.restaurant_guids[0], touched=(curbside.guid,))
    since = format_toast_ts(FIXED_NOW + timedelta(minutes=1))
    changed = [item for page in all_pages(api, "/config/v2/diningOptions", {"lastModified": since}) for item in page]
    assert [item["guid"] for item in changed] == [curbside.guid]
    assert api.get("/config/v2/diningOptions", params={"lastModified": "yesterday"}).status_code == 400


def test_restaurant_info(api):
    state = api.state
    info = api.get(f"/restaurants/v1/restaurants/{state.restaurant_guids[1]}", restaurant=1).json
    general = info["general"]
    assert general["timeZone"] == "America/Chicago" and general["closeoutHour"] == 4
    assert general["managementGroupGuid"] == state.group_guid and general["locationName"] == "Fulton Market"
    assert info["location"]["address1"] and info["location"]["zipCode"]
    assert api.get(f"/restaurants/v1/restaurants/{state.group_guid}").status_code == 404
    group = api.get(f"/restaurants/v1/groups/{state.group_guid}/restaurants").json
    assert [item["guid"] for item in group] == state.restaurant_guids
    assert api.get(f"/restaurants/v1/groups/{state.restaurant_guids[0]}/restaurants").status_code == 404


def test_partner_restaurants_and_connected_paging(api):
    state = api.state
    reachable = state.accounts[PARTNER_CLIENT].restaurants
    listed = api.get("/partners/v1/restaurants", restaurant=None, client_id=PARTNER_CLIENT).json
    assert [item["restaurantGuid"] for item in listed] == list(reachable)
    assert all(item["managementGroupGuid"] == state.group_guid and item["isoCreatedDate"].endswith("Z")
               for item in listed)
    later = format_toast_ts(FIXED_NOW)
    assert api.get("/partners/v1/restaurants", restaurant=None, client_id=PARTNER_CLIENT,
                   params={"lastModified": later}).json == []
    page = api.get("/partners/v1/connectedRestaurants", restaurant=None, client_id=PARTNER_CLIENT,
                   params={"pageSize": 1}).json
    assert page["currentPageNum"] == 1 and page["totalResultCount"] == len(reachable) == 1
    assert base64.b64decode(page["currentPageToken"]) == b"p:1,s:1"
    assert page["nextPageToken"] is None and page["nextPageNum"] is None


def test_connected_restaurants_follow_next_page_token(make_api):
    api = make_api(restaurants=3)
    first = api.get("/partners/v1/connectedRestaurants", restaurant=None, client_id=PARTNER_CLIENT,
                    params={"pageSize": 1})
    assert 'rel="next"' in first.headers["Link"]
    second = api.get("/partners/v1/connectedRestaurants", restaurant=None, client_id=PARTNER_CLIENT,
                     params={"pageToken": first.json["nextPageToken"]}).json
    assert second["currentPageNum"] == 2 and second["previousPageNum"] == 1 and second["nextPageToken"] is None
    guids = [first.json["results"][0]["restaurantGuid"], second["results"][0]["restaurantGuid"]]
    assert guids == api.state.restaurant_guids[:2]
    assert api.get("/partners/v1/connectedRestaurants", restaurant=None, client_id=PARTNER_CLIENT,
                   params={"pageToken": "bm9wZQ=="}).status_code == 400


def test_menu_metadata_tracks_republishing(make_api):
    api = make_api()
    before = api.get("/menus/v2/metadata").json
    assert before["restaurantGuid"] == api.state.restaurant_guids[0]
    api.state.advance_time(hours=1)
    api.state.publish_menu_change(api.state.restaurant_guids[0])
    after = api.get("/menus/v2/metadata").json
    assert after["lastUpdated"] == format_toast_ts(FIXED_NOW + timedelta(hours=1)) > before["lastUpdated"]
    assert api.get("/menus/v2/menus").json["lastUpdated"] == after["lastUpdated"]
