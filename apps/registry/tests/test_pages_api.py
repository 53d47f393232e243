import io

import pytest
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.registry.models import Meter
from apps.registry.tests.factories import (
    ConsumerFactory,
    MdcFactory,
    MeterFactory,
    TransformerFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(mdc):
    other = MdcFactory(code="zeta")
    t1 = TransformerFactory()
    t2 = TransformerFactory()
    meters = [
        MeterFactory(mdc=mdc, transformer=t1, phase=3, profile_hint="commercial"),
        MeterFactory(mdc=mdc, transformer=t1, activation_status=0),
        MeterFactory(mdc=other, transformer=t2, device_type=2),
        MeterFactory(mdc=other, transformer=None, consumer=None, msn=4098562412),
    ]
    return {"mdc": mdc, "other": other, "t1": t1, "t2": t2, "meters": meters}


def page_ids(client, query: str) -> set[str]:
    response = client.get(f"/registry/meters/?{query}")
    assert response.status_code == 200
    return {row.record.global_device_id for row in response.context["table"].rows}


def api_ids(client, query: str) -> set[str]:
    response = client.get(f"/api/registry/meters/?{query}")
    assert response.status_code == 200, response.content
    return {row["global_device_id"] for row in response.json()["results"]}


def test_api_filters_equal_page_filters(client_as, fleet):
    client = client_as("Viewer")
    t1 = fleet["t1"]
    disco = t1.feeder.subdivision.division.circle.disco
    queries = [
        "",
        f"mdc={fleet['mdc'].pk}",
        "activation_status=1",
        "activation_status=0",
        "device_type=2",
        "phase=3",
        "profile_hint=commercial",
        f"disco={disco.pk}",
        f"circle={t1.feeder.subdivision.division.circle.pk}",
        f"division={t1.feeder.subdivision.division.pk}",
        f"subdivision={t1.feeder.subdivision.pk}",
        f"feeder={t1.feeder.pk}",
        f"transformer={t1.pk}",
        "search=4098562412",
        f"search={fleet['meters'][0].global_device_id}",
        f"mdc={fleet['other'].pk}&device_type=1",
    ]
    for query in queries:
        assert page_ids(client, query) == api_ids(client, query), query
    assert len(page_ids(client, f"transformer={t1.pk}")) == 2
    assert page_ids(client, "search=4098562412") == {fleet["meters"][3].global_device_id}


def test_meter_list_exports_csv_with_all_columns(client_as, fleet):
    response = client_as("Viewer").get("/registry/meters/?_export=csv")
    assert response.status_code == 200
    text = (
        b"".join(response.streaming_content).decode()
        if response.streaming
        else (response.content.decode())
    )
    header = text.splitlines()[0]
    assert "Sim number" in header or "sim_number" in header.lower().replace(" ", "_")
    assert len(text.splitlines()) == 5


def test_bad_filter_value_is_shown_not_crashing(client_as, fleet):
    response = client_as("Viewer").get("/registry/meters/?mdc=99999")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert client_as("Viewer").get("/api/registry/meters/?mdc=99999").status_code == 400


def test_meter_detail_shows_hierarchy_and_block(client_as, fleet):
    meter = fleet["meters"][0]
    html = client_as("Viewer").get(meter.get_absolute_url()).content.decode()
    assert meter.global_device_id in html
    assert meter.transformer.feeder.code in html
    assert meter.consumer.reference_no in html


def test_viewer_sees_but_cannot_add(client_as, fleet):
    client = client_as("Viewer")
    for url in [
        "/registry/",
        "/registry/mdcs/",
        f"/registry/mdcs/{fleet['mdc'].pk}/",
        "/registry/hierarchy/",
        "/registry/hierarchy/feeder/",
        "/registry/consumers/",
        "/api/registry/mdcs/",
        "/api/registry/transformers/",
        "/api/registry/consumers/",
    ]:
        assert client.get(url).status_code == 200, url
    assert client.get("/registry/mdcs/add/").status_code == 403
    assert client.get("/registry/meters/add/").status_code == 403
    assert client.get("/registry/hierarchy/disco/add/").status_code == 403
    response = client.post(
        "/api/registry/mdcs/",
        {"code": "v", "name": "v", "base_url": "https://v.example"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_operator_changes_meters_but_cannot_register_mdcs(client_as, fleet):
    client = client_as("Operator")
    meter = fleet["meters"][0]
    assert client.get("/registry/mdcs/add/").status_code == 403
    response = client.post(
        "/api/registry/mdcs/",
        {"code": "v", "name": "v", "base_url": "https://v.example"},
        content_type="application/json",
    )
    assert response.status_code == 403
    response = client.patch(
        f"/api/registry/meters/{meter.pk}/",
        {"activation_status": 0},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    meter.refresh_from_db()
    assert meter.activation_status == 0
    assert AuditEntry.objects.filter(action="registry.meter.update").exists()
    assert client.get(f"/registry/meters/{meter.pk}/edit/").status_code == 200


@pytest.mark.parametrize(
    "url", ["/registry/", "/registry/mdcs/", "/registry/meters/import/", "/api/registry/meters/"]
)
def test_anonymous_is_redirected_to_login(client, url):
    response = client.get(url)
    assert response.status_code in {302, 401, 403}
    if response.status_code == 302:
        assert "/login/" in response["Location"]


def test_user_without_role_is_refused(client_as):
    client = client_as(None)
    assert client.get("/registry/meters/").status_code == 403
    assert client.get("/api/registry/meters/").status_code == 403


def test_register_meter_page_shows_field_errors(client_as, mdc):
    client = client_as("Administrator")
    MeterFactory(mdc=mdc, msn=123456)
    data = {
        "msn": "123456",
        "mdc": mdc.pk,
        "device_type": 1,
        "phase": 1,
        "meter_type": 1,
        "communication_mode": 1,
        "communication_type": 0,
        "mdi_reset_date": 1,
        "mdi_reset_time": "00:00:00",
        "activation_status": 1,
        "profile_hint": "domestic",
    }
    response = client.post("/registry/meters/add/", data)
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    response = client.post("/registry/meters/add/", {**data, "msn": "x", "mdi_reset_date": 40})
    html = response.content.decode()
    assert "Enter a whole number" in html and "less than or equal to 28" in html
    response = client.post("/registry/meters/add/", {**data, "msn": "777"})
    assert response.status_code == 302
    meter = Meter.objects.get(msn=777)
    assert response["Location"] == meter.get_absolute_url()
    assert meter.global_device_id.startswith("m")


def test_api_meter_create_and_400s(client_as, mdc):
    client = client_as("Administrator")
    response = client.post(
        "/api/registry/meters/",
        {"msn": 55, "mdc": mdc.pk, "global_device_id": "m55"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["global_device_id"] == "m55"
    assert response.json()["mdc_code"] == "acme"
    response = client.post(
        "/api/registry/meters/", {"msn": 55, "mdc": mdc.pk}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "msn" in response.json()
    response = client.post(
        "/api/registry/meters/",
        {"msn": 56, "mdc": mdc.pk, "global_device_id": "bad id"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "global_device_id" in response.json()
    response = client.post(
        "/api/registry/meters/",
        {"msn": 57, "mdc": mdc.pk, "phase": 2},
        content_type="application/json",
    )
    assert response.status_code == 400 and "phase" in response.json()
    meter = Meter.objects.get(msn=55)
    response = client.patch(
        f"/api/registry/meters/{meter.pk}/",
        {"global_device_id": "m99"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert client.delete(f"/api/registry/meters/{meter.pk}/").status_code == 405


def test_api_mdc_bad_settings_400(client_as):
    response = client_as("Administrator").post(
        "/api/registry/mdcs/",
        {
            "code": "bad",
            "name": "Bad",
            "base_url": "https://bad.example",
            "window_minutes": {"weird": 5},
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "window_minutes" in response.json()


def test_api_hierarchy_create_chain(client_as):
    client = client_as("Administrator")

    def post(path, data):
        response = client.post(f"/api/registry/{path}/", data, content_type="application/json")
        assert response.status_code == 201, response.content
        return response.json()["id"]

    disco = post("discos", {"code": "LESCO", "name": "Lahore"})
    circle = post("circles", {"disco": disco, "code": "C1", "name": "c"})
    division = post("divisions", {"circle": circle, "code": "D1", "name": "d"})
    sub = post("subdivisions", {"division": division, "code": "S1", "name": "s"})
    feeder = post("feeders", {"subdivision": sub, "code": "F1", "name": "f"})
    post("transformers", {"feeder": feeder, "code": "T1", "name": "t", "capacity_kva": "200.5"})
    response = client.post(
        "/api/registry/circles/",
        {"disco": disco, "code": "C1", "name": "dup"},
        content_type="application/json",
    )
    assert response.status_code == 400
    listing = client.get(f"/api/registry/circles/?disco={disco}").json()
    assert listing["count"] == 1
    assert AuditEntry.objects.filter(action="registry.transformer.create").exists()


def test_hierarchy_pages(client_as, fleet):
    client = client_as("Administrator")
    html = client.get("/registry/hierarchy/").content.decode()
    assert fleet["t1"].code in html
    for level in ["disco", "circle", "division", "subdivision", "feeder", "transformer"]:
        assert client.get(f"/registry/hierarchy/{level}/").status_code == 200
    assert client.get("/registry/hierarchy/planet/").status_code == 404
    response = client.post("/registry/hierarchy/disco/add/", {"code": "IESCO", "name": "I"})
    assert response.status_code == 302
    response = client.post("/registry/hierarchy/disco/add/", {"code": "IESCO", "name": "I"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_consumer_pages(client_as):
    client = client_as("Administrator")
    ConsumerFactory(reference_no="R-9")
    assert "R-9" in client.get("/registry/consumers/").content.decode()
    response = client.post(
        "/registry/consumers/add/",
        {
            "reference_no": "R-10",
            "name": "N",
            "tariff": "A-1",
            "sanctioned_load_kw": "3.5",
            "phase": 1,
            "connection_status": "active",
        },
    )
    assert response.status_code == 302


def test_import_page_shows_errors_with_line_numbers(client_as, mdc):
    client = client_as("Administrator")
    upload = io.BytesIO(b"msn,mdc\n1,acme\nnope,acme\n2,ghost\n")
    upload.name = "meters.csv"
    response = client.post(
        reverse("registry:meter-import"), {"file": upload, "all_or_nothing": "on"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "No meters were imported" in html
    assert "<td>3</td>" in html and "<td>4</td>" in html
    assert "unknown MDC code" in html
    assert not Meter.objects.exists()
    upload = io.BytesIO(b"msn\n1\n2\n")
    upload.name = "meters.csv"
    response = client.post(reverse("registry:meter-import"), {"file": upload, "mdc": mdc.pk})
    assert "Imported 2 of 2 meters" in response.content.decode()


def test_import_api(client_as, mdc):
    client = client_as("Administrator")
    upload = io.BytesIO(b"msn\n1\nx\n")
    upload.name = "m.csv"
    response = client.post(
        "/api/registry/meters/import/", {"file": upload, "mdc": "acme", "all_or_nothing": True}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [[3, "msn 'x' is not a positive whole number"]]
    upload = io.BytesIO(b"msn\n1\n")
    upload.name = "m.csv"
    response = client.post("/api/registry/meters/import/", {"file": upload, "mdc": "acme"})
    assert response.status_code == 201
    assert client_as("Viewer").post("/api/registry/meters/import/", {}).status_code == 403


def test_mdc_create_page(client_as):
    client = client_as("Administrator")
    response = client.post(
        "/registry/mdcs/add/",
        {
            "code": "new-mdc",
            "name": "New",
            "udil_profile": "2019",
            "transport": "api",
            "base_url": "",
            "data_format": "json",
            "credentials_in": "headers",
            "timeout_seconds": 30,
            "batch_size": 100,
            "key_lifetime_minutes": 30,
            "lp_energy_kind": "register",
            "energy_register_max": "1000000000",
        },
    )
    assert response.status_code == 200
    assert "An API MDC needs a base URL." in response.content.decode()


def test_dashboard_panel(rf, make_user, fleet):
    from apps.registry.dashboard import dashboard_panels

    request = rf.get("/")
    request.user = make_user("Viewer")
    (panel,) = dashboard_panels(request)
    assert ("Meters", "4") in panel.kpis
    assert panel.chart_html
    request.user = make_user(None)
    assert dashboard_panels(request) == []


def test_admin_pages_render_for_every_model(client, fleet):
    client.force_login(_superuser())
    meter = fleet["meters"][0]
    for model in [
        "mdc",
        "meter",
        "consumer",
        "disco",
        "circle",
        "division",
        "subdivision",
        "feeder",
        "transformer",
    ]:
        assert client.get(f"/admin/registry/{model}/").status_code == 200, model
        assert client.get(f"/admin/registry/{model}/add/").status_code == 200, model
    assert client.get(f"/admin/registry/meter/{meter.pk}/change/").status_code == 200


def _superuser():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.pk", "pw-Secret-123")


def test_admin_saves_mdc_through_service_keeping_blank_password(client, fleet):
    client.force_login(_superuser())
    mdc = fleet["mdc"]
    data = {
        "code": "acme",
        "name": "Acme via admin",
        "vendor": "Acme",
        "udil_profile": "2019",
        "transport": "api",
        "base_url": mdc.base_url,
        "data_format": "json",
        "credentials_in": "headers",
        "username": "mdm",
        "password": "",
        "auth_code": "",
        "path_overrides": "{}",
        "timeout_seconds": "30",
        "batch_size": "100",
        "window_minutes": "{}",
        "tabular_database_url": "",
        "tabular_views": "{}",
        "pull_intervals": "{}",
        "key_lifetime_minutes": "30",
        "lp_energy_kind": "register",
        "energy_register_max": "1000000000",
        "enabled": "on",
    }
    response = client.post(f"/admin/registry/mdc/{mdc.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    mdc.refresh_from_db()
    assert mdc.name == "Acme via admin"
    assert mdc.password == "secret-pass"
    assert AuditEntry.objects.filter(action="registry.mdc.update").exists()


def test_openapi_schema_includes_registry(client_as):
    response = client_as("Viewer").get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/registry/meters/" in text
    assert "/api/registry/mdcs/{id}/test_connection/" in text
