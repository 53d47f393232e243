"""Flat-file MDCs in the registry: a delivery directory is required (an absolute path), and
"Test connection" checks it through the transport (apps.ingestion.transports)."""

import pytest
from django.core.exceptions import ValidationError

from apps.registry import services

pytestmark = pytest.mark.django_db


def _register(admin_user, **fields):
    return services.mdc_register(
        actor=admin_user, code="files-x", name="Files", transport="file", **fields
    )


def test_a_file_mdc_needs_an_absolute_delivery_directory(admin_user, tmp_path):
    with pytest.raises(ValidationError) as info:
        _register(admin_user)
    assert "delivery directory" in " ".join(info.value.message_dict["file_directory"])
    with pytest.raises(ValidationError) as info:
        _register(admin_user, file_directory="relative/inbox")
    assert "absolute path" in " ".join(info.value.message_dict["file_directory"])
    mdc = _register(admin_user, file_directory=str(tmp_path))
    assert mdc.file_directory == str(tmp_path) and mdc.base_url == ""


def test_test_connection_of_a_file_mdc_checks_its_directory(admin_user, tmp_path):
    mdc = _register(admin_user, file_directory=str(tmp_path / "inbox"))
    missing = services.mdc_test_connection(actor=admin_user, mdc=mdc)
    assert not missing.ok and "does not exist" in missing.message
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "events_20261201T1000.csv").write_text("global_device_id\n")
    (tmp_path / "inbox" / "events_20261201T1100.csv.part").write_text("global_device_id\n")
    found = services.mdc_test_connection(actor=admin_user, mdc=mdc)
    assert found.ok and "1 file(s) waiting" in found.message


def test_the_api_registers_a_file_mdc_and_refuses_one_without_directory(client_as, tmp_path):
    client = client_as("Administrator")
    body = {"code": "files-api", "name": "Files", "transport": "file"}
    refused = client.post("/api/registry/mdcs/", body, content_type="application/json")
    assert refused.status_code == 400 and "file_directory" in refused.json()
    made = client.post(
        "/api/registry/mdcs/",
        {**body, "file_directory": str(tmp_path), "tabular_mark_synced": True},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["file_directory"] == str(tmp_path)
