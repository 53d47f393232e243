"""Bad input answers 4xx with a message and loses nothing: never a 500."""

from __future__ import annotations

import io
import json

import pytest

from apps.registry.models import Consumer, Mdc, Meter
from apps.registry.tests.factories import MdcFactory, MeterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client_as):
    return client_as("Administrator")


def _message(response) -> str:
    body = response.json()
    return str(body)


# --- paths and ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/warehouse/meter-visuals/%00/",
        "/api/registry/meters/%00/",
        "/api/registry/meters/abc/",
        "/api/registry/meters/99999999999999999999/",
        "/api/registry/mdcs/-1/",
        "/api/registry/consumers/1e3/",
        "/api/warehouse/quarantine/abc/",
        "/api/ingestion/runs/abc/",
        "/api/audit/entries/99999999999999999999/",
        "/api/commands/requests/99999999999999999999/",
    ],
)
def test_bad_ids_in_paths_answer_4xx_with_a_message(admin, url):
    response = admin.get(url)
    assert response.status_code in {400, 404}, response.content
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "mdc=abc",
        "mdc=99999999999999999999",
        "transformer=%00",
        "msn=-5",
        "msn=99999999999999999999",
        "search=%00",
        "global_device_id=%00",
    ],
)
def test_bad_filter_values_answer_4xx(admin, query):
    MeterFactory()
    response = admin.get(f"/api/registry/meters/?{query}")
    assert response.status_code in {200, 400}, response.content


# --- bodies ---------------------------------------------------------------------------------------


def test_deeply_nested_json_is_refused_with_400(admin):
    body = "[" * 5000 + "]" * 5000
    response = admin.post("/api/registry/consumers/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_nul_byte_in_a_json_field_is_refused_with_400(admin):
    response = admin.post(
        "/api/registry/consumers/",
        {"reference_no": "R-1", "name": "A\x00B"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "name" in response.json()
    assert not Consumer.objects.exists()


def test_negative_msn_is_refused_by_the_api_as_by_the_import(admin):
    mdc = MdcFactory()
    response = admin.post(
        "/api/registry/meters/", {"msn": -5, "mdc": mdc.pk}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "msn" in response.json()
    assert not Meter.objects.exists()
    imported = _import(admin, f"msn,mdc\n-5,{mdc.code}\n")
    assert imported.status_code == 400
    assert "msn" in str(imported.json()["errors"])


def test_a_2_mb_address_is_refused_with_a_message(admin):
    response = admin.post(
        "/api/registry/consumers/",
        {"reference_no": "R-2", "name": "Big", "address": "x" * (2 * 1024 * 1024)},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "address" in response.json()
    assert not Consumer.objects.exists()


def test_long_text_in_meter_fields_is_refused_the_same_way_by_api_and_import(admin):
    mdc = MdcFactory()
    long_sim = "3" * 51
    response = admin.post(
        "/api/registry/meters/",
        {"msn": 77, "mdc": mdc.pk, "sim_number": long_sim},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "sim_number" in response.json()
    imported = _import(admin, f"msn,mdc,sim_number\n77,{mdc.code},{long_sim}\n")
    assert imported.status_code == 400
    assert not Meter.objects.exists()


# --- CSV import -----------------------------------------------------------------------------------


def _import(client, text: str | bytes, **extra):
    data = text.encode() if isinstance(text, str) else text
    upload = io.BytesIO(data)
    upload.name = "meters.csv"
    return client.post("/api/registry/meters/import/", {"file": upload, **extra})


def test_nul_byte_in_a_csv_field_is_reported_with_its_line(admin):
    mdc = MdcFactory()
    response = _import(admin, f"msn,mdc,sim_number\n11,{mdc.code},03\x0012\n12,{mdc.code},0300\n")
    assert response.status_code in {201, 400}, response.content
    errors = response.json()["errors"]
    assert any(line == 2 and "NUL" in reason for line, reason in errors), errors
    assert list(Meter.objects.values_list("msn", flat=True)) in ([12], [])


def test_nul_byte_in_a_csv_field_on_the_import_page_is_reported(admin):
    mdc = MdcFactory()
    upload = io.BytesIO(f"msn,mdc,sim_number\n11,{mdc.code},03\x0012\n".encode())
    upload.name = "meters.csv"
    response = admin.post("/registry/meters/import/", {"file": upload, "all_or_nothing": "on"})
    assert response.status_code in {200, 302}
    assert not Meter.objects.exists()


def test_api_import_has_a_size_limit(admin, settings):
    settings.IMPORT_MAX_BYTES = 1000
    mdc = MdcFactory()
    rows = "".join(f"{n},{mdc.code}\n" for n in range(1, 400))
    response = _import(admin, "msn,mdc\n" + rows)
    assert response.status_code == 400
    assert "larger than 1,000 bytes" in str(response.json()["errors"])
    assert not Meter.objects.exists()


# --- MDC URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://169.254.10.1/udil", "link-local"),
        ("http://[fe80::1]/udil", "link-local"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://user:pw@mdc.example.org/udil", "username and password"),
        ("http://user@mdc.example.org/udil", "username and password"),
    ],
)
def test_mdc_urls_refuse_link_local_metadata_and_userinfo(admin, url, reason):
    response = admin.post(
        "/api/registry/mdcs/",
        {"code": "evil", "name": "Evil", "base_url": url},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert reason in str(response.json()["base_url"])
    assert not Mdc.objects.filter(code="evil").exists()


def test_mdc_url_rules_hold_on_update_and_on_the_page(admin):
    mdc = MdcFactory(base_url="http://10.1.2.3/udil")
    response = admin.patch(
        f"/api/registry/mdcs/{mdc.pk}/",
        {"base_url": "http://169.254.169.254/"},
        content_type="application/json",
    )
    assert response.status_code == 400
    edit = f"/registry/mdcs/{mdc.pk}/edit/"
    form = admin.get(edit).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {name: value for name, value in data.items() if value not in (None, False)}
    # the row editors post their rows; a JSON object is what a script would send instead
    data = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in data.items()}
    page = admin.post(edit, {**data, "base_url": "http://169.254.169.254/"})
    assert page.status_code == 200  # the form again, with the message
    assert "link-local" in str(page.context["form"].errors["base_url"])
    assert Mdc.objects.get(pk=mdc.pk).base_url == "http://10.1.2.3/udil"


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/udil", "https://192.168.0.5:8443/", "http://mdc.disco.local/udil"]
)
def test_private_mdc_urls_stay_allowed(admin, url):
    response = admin.post(
        "/api/registry/mdcs/",
        {"code": "fine", "name": "Fine", "base_url": url},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


def test_stored_url_credentials_are_not_shown_to_viewers(client_as):
    # stored before the rule existed: written past the validation on purpose
    mdc = MdcFactory()
    Mdc.objects.filter(pk=mdc.pk).update(base_url="http://vendor:s3cret@10.1.2.3/udil")
    viewer = client_as("Viewer")
    api = viewer.get(f"/api/registry/mdcs/{mdc.pk}/")
    assert api.status_code == 200
    assert "s3cret" not in api.content.decode()
    assert api.json()["base_url"] == "http://10.1.2.3/udil"
    for url in (f"/registry/mdcs/{mdc.pk}/", "/registry/mdcs/", "/api/registry/mdcs/"):
        assert "s3cret" not in viewer.get(url).content.decode(), url


# --- digits that are not ASCII ("²".isdigit() is True, int("²") raises) --------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/vee/exceptions/%C2%B2/action/",
        "/api/commands/requests/%C2%B2/cancel/",
        "/api/billing/runs/%C2%B2/determinants/",
    ],
)
def test_superscript_digits_as_ids_answer_404(admin, url):
    response = admin.post(url, {}, content_type="application/json")
    if response.status_code == 405:
        response = admin.get(url)
    assert response.status_code == 404, response.content
    assert response.json()["detail"]


def test_superscript_digits_in_the_meter_search_are_text(admin):
    MeterFactory()
    response = admin.get("/api/registry/meters/", {"search": "²" * 8})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_superscript_digits_as_msn_in_the_import_are_a_row_error(admin):
    mdc = MdcFactory()
    response = _import(admin, f"msn,mdc\n²²,{mdc.code}\n")
    assert response.status_code == 400
    assert any(line == 2 and "msn" in reason for line, reason in response.json()["errors"])


@pytest.mark.parametrize(
    "url",
    [
        "/api/warehouse/load-profile/",
        "/api/warehouse/billing/",
        "/api/warehouse/instantaneous/",
        "/api/warehouse/events/",
        "/api/audit/entries/",
    ],
)
@pytest.mark.parametrize("value", ["2026-01-01T00:00:00+16:00", "9999-12-31T23:59:59-23:59", "%00"])
def test_datetimes_out_of_range_in_filters_answer_4xx_not_500(admin, url, value):
    for name in ("start", "end", "at_after", "at_before"):
        response = admin.get(url, {name: value})
        assert response.status_code in {200, 400}, (name, response.content)
