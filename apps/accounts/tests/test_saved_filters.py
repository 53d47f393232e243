"""My saved filters (#15): each user's filters of every list, opened with the filter applied,
renamed, edited on the list's own filter form (validated by its FilterSet), made a list's
default (the list opens with it) and deleted after confirming; audited; other users get 404."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from apps.accounts.models import SavedFilter
from apps.audit.models import AuditEntry
from apps.core.testing import list_page_rows
from apps.registry.tests.factories import MdcFactory, MeterFactory

pytestmark = pytest.mark.django_db

METERS = "/registry/meters/"
MINE = "/accounts/filters/saved/"


@pytest.fixture
def fleet():
    alpha, beta = MdcFactory(code="alpha-he"), MdcFactory(code="beta-he")
    return MeterFactory(mdc=alpha), MeterFactory(mdc=beta)


@pytest.fixture
def viewer(make_user):
    return make_user("Viewer")


@pytest.fixture
def client(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def saved(client, viewer, fleet) -> SavedFilter:
    response = client.post(
        "/accounts/filters/",
        {"path": METERS, "name": "Beta", "query": "mdc=beta-he&sort=msn&page=3", "next": METERS},
    )
    assert response.status_code == 302
    return SavedFilter.objects.get(user=viewer)


def _links(page: str) -> set[str]:
    return {html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)}


def _audited(action: str, saved: SavedFilter) -> bool:
    return AuditEntry.objects.filter(
        action=action, target_type="accounts.savedfilter", target_id=str(saved.pk)
    ).exists()


def test_my_saved_filters_lists_them_and_opens_each_list_filtered(client, saved, fleet):
    assert saved.query == "mdc=beta-he&sort=msn"  # the page number is no filter
    page = client.get(MINE).content.decode()
    assert "Registered meters" in page or "Meters" in page
    opened = f"{METERS}?mdc=beta-he&sort=msn"
    assert opened in _links(page)
    rows = list_page_rows(client, opened)
    assert len(rows) == 1 and fleet[1].global_device_id in rows[0]
    assert fleet[0].global_device_id not in rows[0]
    # reached from the navbar's user menu and from the list's saved-filter control
    meters = client.get(METERS).content.decode()
    assert MINE in _links(meters)
    assert f"{MINE}?path={METERS}" in _links(meters)
    assert 'id="user-menu"' in meters
    # that link shows this list's filters only
    SavedFilter.objects.create(user=saved.user, path="/registry/mdcs/", name="Other list")
    assert "Other list" in client.get(MINE).content.decode()
    assert "Other list" not in client.get(f"{MINE}?path={METERS}").content.decode()


def test_another_user_neither_sees_nor_changes_them(saved, make_user):
    other = Client()
    other.force_login(make_user("Administrator"))
    assert "Beta" not in " ".join(list_page_rows(other, MINE))
    edit = f"/accounts/filters/{saved.pk}/"
    assert other.get(edit).status_code == 404
    assert other.post(edit, {"name": "Mine now", "q-mdc": ""}).status_code == 404
    assert other.post(f"{edit}default/", {"default": "1"}).status_code == 404
    assert other.get(f"{edit}delete/").status_code == 404
    assert other.post(f"{edit}delete/").status_code == 404
    saved.refresh_from_db()
    assert (saved.name, saved.query, saved.is_default) == ("Beta", "mdc=beta-he&sort=msn", False)


def test_the_edit_form_shows_the_lists_fields_by_label_and_saves_a_new_query(client, saved):
    edit = f"/accounts/filters/{saved.pk}/"
    page = client.get(edit).content.decode()
    for label in ("MDC", "Activation status", "Transformer", "MDC code"):
        assert f">{label}</label>" in page, label
    assert 'name="q-mdc"' in page and 'value="beta-he"' in page
    response = client.post(
        edit, {"name": "Alpha, active", "q-mdc": "alpha-he", "q-activation_status": "1"}
    )
    assert response.status_code == 302 and response["Location"] == MINE
    saved.refresh_from_db()
    assert saved.name == "Alpha, active"
    assert saved.query == "mdc=alpha-he&activation_status=1&sort=msn"  # sorting kept
    assert _audited("saved_filter.update", saved)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "Beta", "q-mdc": "nonesuch"}, "no MDC has the code or id nonesuch"),
        ({"name": "Beta", "q-activation_status": "sleeping"}, "Select a valid choice"),
        ({"name": "  ", "q-mdc": "beta-he"}, "This field is required"),
        ({"name": "", "q-mdc": "beta-he"}, "This field is required"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "Taken"}, "another filter of this list by that name"),
    ],
)
def test_bad_values_are_shown_on_the_form_and_nothing_is_saved(client, saved, body, error):
    SavedFilter.objects.create(user=saved.user, path=METERS, name="Taken", query="")
    response = client.post(f"/accounts/filters/{saved.pk}/", body)
    assert response.status_code == 400
    assert error in html.unescape(response.content.decode())
    saved.refresh_from_db()
    assert (saved.name, saved.query) == ("Beta", "mdc=beta-he&sort=msn")


def test_a_stale_saved_value_is_shown_on_its_field(client, saved):
    saved.query = "mdc=gone-he"
    saved.save()
    page = html.unescape(client.get(f"/accounts/filters/{saved.pk}/").content.decode())
    assert "no MDC has the code or id gone-he" in page


def test_the_default_filter_opens_its_list_and_clear_shows_everything(client, saved, fleet):
    other = SavedFilter.objects.create(user=saved.user, path=METERS, name="Alpha", query="mdc=1")
    assert client.get(METERS).status_code == 200  # no default yet
    response = client.post(f"/accounts/filters/{saved.pk}/default/", {"default": "1"})
    assert response.status_code == 302
    response = client.get(METERS)
    assert response.status_code == 302 and response["Location"] == f"{METERS}?mdc=beta-he&sort=msn"
    rows = list_page_rows(client, response["Location"])
    assert len(rows) == 1 and fleet[1].global_device_id in rows[0]
    page = client.get(response["Location"]).content.decode()
    assert "?_default=off" in _links(page)
    assert len(list_page_rows(client, f"{METERS}?_default=off")) == 2
    # one default per list: the other filter takes over
    client.post(f"/accounts/filters/{other.pk}/default/", {"default": "1"})
    saved.refresh_from_db()
    assert not saved.is_default
    assert client.get(METERS)["Location"] == f"{METERS}?mdc=1"
    client.post(f"/accounts/filters/{other.pk}/default/", {"default": "0"})
    assert client.get(METERS).status_code == 200
    assert _audited("saved_filter.default", saved) and _audited("saved_filter.undefault", other)


def test_a_default_is_the_owners_only(client, saved, make_user):
    client.post(f"/accounts/filters/{saved.pk}/default/", {"default": "1"})
    other = Client()
    other.force_login(make_user("Viewer"))
    assert other.get(METERS).status_code == 200


def test_delete_asks_first_then_deletes_and_audits(client, saved):
    confirm = client.get(f"/accounts/filters/{saved.pk}/delete/")
    assert confirm.status_code == 200
    assert 'id="saved-filter-delete"' in confirm.content.decode()
    assert SavedFilter.objects.filter(pk=saved.pk).exists()
    response = client.post(f"/accounts/filters/{saved.pk}/delete/", {"next": MINE})
    assert response.status_code == 302 and response["Location"] == MINE
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()
    assert _audited("saved_filter.delete", saved)


def test_a_filter_of_a_list_that_is_gone_is_edited_as_its_query(client, viewer):
    saved = SavedFilter.objects.create(user=viewer, path="/no/such/list/", name="Old", query="a=1")
    edit = f"/accounts/filters/{saved.pk}/"
    page = client.get(edit).content.decode()
    assert 'name="query"' in page and 'value="a=1"' in page
    assert client.post(edit, {"name": "Old", "query": "a=2"}).status_code == 302
    saved.refresh_from_db()
    assert saved.query == "a=2"
    assert client.get(MINE).status_code == 200


def test_a_list_the_user_may_not_see_shows_no_choices(make_user):
    nobody = make_user(None)
    saved = SavedFilter.objects.create(user=nobody, path=METERS, name="Was mine", query="mdc=x")
    client = Client()
    client.force_login(nobody)
    page = client.get(f"/accounts/filters/{saved.pk}/").content.decode()
    assert 'name="q-mdc"' not in page and 'name="query"' in page


def _list_paths() -> list[str]:
    """Every list page of the portal (a FilteredTableView without URL parameters)."""
    from django.urls import URLResolver, get_resolver

    from apps.core.views import FilteredTableView

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
                continue
            view = getattr(entry.callback, "view_class", None)
            route = prefix + str(entry.pattern)
            if view and issubclass(view, FilteredTableView) and "<" not in route:
                yield "/" + route

    return sorted(set(walk(get_resolver().url_patterns)))


def test_a_filter_of_every_list_is_edited_on_that_lists_form(make_user):
    admin = make_user("Administrator")
    client = Client()
    client.force_login(admin)
    paths = _list_paths()
    assert len(paths) > 20 and METERS in paths
    for path in paths:
        saved = SavedFilter.objects.create(user=admin, path=path, name="All", query="sort=-pk")
        edit = f"/accounts/filters/{saved.pk}/"
        page = client.get(edit)
        assert page.status_code == 200, path
        assert 'name="q-' in page.content.decode(), path  # the list's own fields
        response = client.post(edit, {"name": "All of it"})
        assert response.status_code == 302, (path, response.status_code)
        saved.refresh_from_db()
        assert (saved.name, saved.query) == ("All of it", "sort=-pk"), path
