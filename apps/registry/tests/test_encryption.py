import pytest
from cryptography.fernet import Fernet
from django.db import connection

from apps.registry import services
from apps.registry.fields import decrypt_text
from apps.registry.models import Mdc

pytestmark = pytest.mark.django_db

PLAIN = "Sup3r-Secret-Password"
CODE = "AUTH-CODE-4242"
DB_URL = "postgresql://reader:db-Pa55@10.0.0.5/mdc"


def raw_columns(pk: int) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT password, auth_code, tabular_database_url FROM registry_mdc WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def test_the_database_holds_only_ciphertext(admin_user):
    mdc = services.mdc_register(
        actor=admin_user,
        code="enc",
        name="Encrypted",
        base_url="https://x.example/udil",
        password=PLAIN,
        auth_code=CODE,
        tabular_database_url=DB_URL,
    )
    password, code, url = raw_columns(mdc.pk)
    for stored, plain in [(password, PLAIN), (code, CODE), (url, DB_URL)]:
        assert plain not in stored
        assert stored.startswith("fernet:")
        assert decrypt_text(stored) == plain
    fresh = Mdc.objects.get(pk=mdc.pk)
    assert (fresh.password, fresh.auth_code, fresh.tabular_database_url) == (PLAIN, CODE, DB_URL)


def test_key_rotation_old_key_still_decrypts(admin_user, settings):
    old_key = settings.CREDENTIALS_KEYS[0]
    mdc = services.mdc_register(
        actor=admin_user, code="rot", name="Rot", base_url="https://x.example", password=PLAIN
    )
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode(), old_key]
    assert Mdc.objects.get(pk=mdc.pk).password == PLAIN
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ValueError, match="cannot be decrypted"):
        Mdc.objects.get(pk=mdc.pk)


def test_api_never_returns_credentials(client_as, mdc):
    client = client_as("Administrator")
    body = client.get(f"/api/registry/mdcs/{mdc.pk}/").json()
    assert "password" not in body and "auth_code" not in body
    assert "tabular_database_url" not in body
    assert body["password_set"] is True
    listing = client.get("/api/registry/mdcs/").content.decode()
    assert "secret-pass" not in listing and "secret-code" not in listing


def test_api_accepts_credentials_write_only(client_as):
    client = client_as("Administrator")
    response = client.post(
        "/api/registry/mdcs/",
        {
            "code": "api-mdc",
            "name": "From API",
            "base_url": "https://api.example/udil",
            "username": "u",
            "password": PLAIN,
            "auth_code": CODE,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert PLAIN not in response.content.decode()
    mdc = Mdc.objects.get(code="api-mdc")
    assert mdc.password == PLAIN
    assert PLAIN not in raw_columns(mdc.pk)[0]
    # a PATCH without the password keeps it
    response = client.patch(
        f"/api/registry/mdcs/{mdc.pk}/", {"name": "Renamed"}, content_type="application/json"
    )
    assert response.status_code == 200
    mdc.refresh_from_db()
    assert mdc.password == PLAIN


def test_pages_mask_credentials(client_as, mdc):
    client = client_as("Administrator")
    for url in [f"/registry/mdcs/{mdc.pk}/", f"/registry/mdcs/{mdc.pk}/edit/"]:
        html = client.get(url).content.decode()
        assert "secret-pass" not in html and "secret-code" not in html
        assert "•••• (set)" in html
    admin_html = client.get(f"/admin/registry/mdc/{mdc.pk}/change/").content.decode()
    assert "secret-pass" not in admin_html


def test_edit_page_blank_password_keeps_stored_value(client_as, mdc):
    client = client_as("Administrator")
    form = {
        "code": "acme",
        "name": "Acme renamed",
        "vendor": "Acme",
        "udil_profile": "2019",
        "transport": "api",
        "base_url": mdc.base_url,
        "data_format": "json",
        "credentials_in": "headers",
        "username": "mdm",
        "password": "",
        "auth_code": "new-code",
        "path_overrides": "{}",
        "timeout_seconds": "30",
        "batch_size": "100",
        "window_minutes": '{"load_profile": 1440}',
        "tabular_database_url": "",
        "tabular_views": "{}",
        "pull_intervals": '{"events": 15}',
        "key_lifetime_minutes": "30",
        "lp_energy_kind": "register",
        "energy_register_max": "1000000000",
        "enabled": "on",
    }
    response = client.post(f"/registry/mdcs/{mdc.pk}/edit/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    mdc.refresh_from_db()
    assert mdc.name == "Acme renamed"
    assert mdc.password == "secret-pass"
    assert mdc.auth_code == "new-code"
