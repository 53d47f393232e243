"""The ingestion FilterSets take an MDC by its code (what people type and links carry), case
insensitively; an old link's internal id still works; an unknown code is a form error (400)."""

import pytest

from apps.ingestion.filters import FileDeliveryFilter, IngestionRunFilter, WatermarkFilter
from apps.ingestion.models import IngestionRun, Watermark
from apps.ingestion.tests.test_pages import runs  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db


def test_runs_filter_by_mdc_code_page_and_api(client_as, runs):  # noqa: F811
    alpha = runs[0].mdc
    client = client_as("Viewer")
    by_code = client.get("/api/ingestion/runs/", {"mdc": "ALPHA"}).json()
    by_id = client.get("/api/ingestion/runs/", {"mdc": alpha.pk}).json()
    assert by_code["count"] == by_id["count"] == 2
    page = client.get("/ingestion/", {"mdc": "beta"})
    assert page.status_code == 200
    assert client.get("/api/ingestion/runs/", {"mdc": "no-such-mdc"}).status_code == 400


def test_every_ingestion_filterset_names_the_mdc_by_code(runs):  # noqa: F811
    alpha = runs[0].mdc
    chosen = IngestionRunFilter({"mdc": "alpha"}, queryset=IngestionRun.objects.all())
    assert chosen.is_valid() and set(chosen.qs) == {runs[0], runs[1]}
    watermarks = WatermarkFilter({"mdc": "Alpha"}, queryset=Watermark.objects.all())
    assert watermarks.is_valid() and [w.mdc for w in watermarks.qs] == [alpha]
    options = [label for _, label in IngestionRunFilter().form.fields["mdc"].choices]
    assert any(label.startswith("alpha") for label in options)
    unknown = FileDeliveryFilter({"mdc": "alpha-nope"})
    assert not unknown.is_valid() and "alpha-nope" in str(unknown.errors)
