"""The unmanaged models, the frozen migration DDL and the UDIL data sets agree."""

import pytest
from django.db import connection

from apps.udil.datasets import DATASETS
from apps.warehouse.models import (
    BillingReading,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MeterVisuals,
    MonthlyBillingReading,
)
from apps.warehouse.schema import TABLES

MODELS = {
    "instantaneous": InstantaneousReading,
    "billing": BillingReading,
    "monthly_billing": MonthlyBillingReading,
    "load_profile": LoadProfileReading,
    "events": MeterEvent,
    "meter_visuals": MeterVisuals,
}
DJANGO_KINDS = {
    "decimal": "DecimalField",
    "int": "IntegerField",
    "bigint": "BigIntegerField",
    "datetime": "DateTimeField",
}


@pytest.mark.parametrize("code", MODELS)
def test_model_fields_follow_the_data_set(code):
    model = MODELS[code]
    assert model._meta.db_table == TABLES[code].name
    for field in DATASETS[code].fields:
        model_field = model._meta.get_field(field.name)
        expected = DJANGO_KINDS.get(field.kind) or (
            "CharField" if field.max_length else "TextField"
        )
        assert model_field.get_internal_type() == expected, field.name


@pytest.mark.django_db
@pytest.mark.parametrize("code", MODELS)
def test_database_columns_follow_the_data_set(code):
    table = TABLES[code]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            [table.name],
        )
        columns = [name for (name,) in cursor.fetchall()]
    assert columns == [*DATASETS[code].field_names, "mdc_id", "ingested_at"]


@pytest.mark.django_db
def test_load_profile_key_and_brin_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'warehouse_load_profile'")
        definitions = " ".join(d for (d,) in cursor.fetchall())
    assert "(global_device_id, meter_datetime, channel_id)" in definitions
    assert "USING brin (meter_datetime)" in definitions
    assert "(mdc_id, db_datetime)" in definitions
