"""Static files as production and `mdm up` serve them: collected with hashed names and
compressed copies, served by WhiteNoise compressed and cached for ever (plotly.js is 4.8 MB)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client

from apps.core.finders import PLOTLY_STATIC_PATH

MANIFEST = "apps.core.storage.StaticFilesStorage"


@pytest.fixture
def collected(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST}}
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def test_plotly_is_served_gzip_with_a_far_future_cache(collected, client_as):
    url = staticfiles_storage.url(PLOTLY_STATIC_PATH)
    assert url != f"/static/{PLOTLY_STATIC_PATH}", "a content-hashed name"
    plain = (collected / url.removeprefix("/static/")).read_bytes()
    assert len(plain) > 3_000_000
    client = Client()  # a new handler: WhiteNoise reads the collected files afresh
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert len(body) < len(plain) / 3
    assert gzip.decompress(body) == plain
    identity = client.get(url)
    assert "Content-Encoding" not in identity
    assert b"".join(identity.streaming_content) == plain
    # pages link the hashed names
    page = client_as("Viewer").get("/").content.decode()
    assert staticfiles_storage.url("vendor/bootstrap/bootstrap.min.css") in page
    assert "/static/vendor/bootstrap/bootstrap.min.css" not in page


def test_production_and_mdm_up_settings_use_the_manifest_storage():
    """Production by default; `mdm up` sets MDM_STATIC_MANIFEST=1 (read in a fresh process)."""
    code = "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mdm.settings", "MDM_STATIC_MANIFEST": "1"}
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        cwd=Path(django_settings.BASE_DIR),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == MANIFEST
