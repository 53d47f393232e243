"""The unmanaged models, the frozen migration DDL and the UDIL data sets agree."""

import pytest
from django.db import connection

from apps.udil.datasets import DATASETS
from apps.udil.datasets_v33 import DATASETS_3_3
from apps.warehouse.models import (
    BillingReading,
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MeterVisuals,
    MonthlyBillingReading,
)
from apps.warehouse.schema import TABLES, VARIANTS

MODELS = {
    "instantaneous": InstantaneousReading,
    "billing": BillingReading,
    "monthly_billing": MonthlyBillingReading,
    "load_profile": LoadProfileReading,
    "events": MeterEvent,
    "meter_visuals": MeterVisuals,
    "device_comm_history": DeviceCommunicationHistory,
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
    for field in (f for dataset in VARIANTS[code] for f in dataset.fields):
        model_field = model._meta.get_field(field.stored_as)
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
    # the first definition's columns as created, then the columns later profiles added (3.3)
    first = VARIANTS[code][0].field_names
    added = [c for c in TABLES[code].data_columns if c not in first]
    assert columns == [*first, "mdc_id", "ingested_at", *added]


def test_every_profile_definition_is_stored():
    """Each 2019 and 3.3 field has its column; a 3.3 load profile's import registers are the
    2019 ones."""
    for code, dataset in (*DATASETS.items(), *DATASETS_3_3.items()):
        view = TABLES[code].view(dataset)
        assert set(view.data_columns) <= set(TABLES[code].data_columns)
        assert view.key == TABLES[code].key
    lp = TABLES["load_profile"].view(DATASETS_3_3["load_profile"])
    assert lp.data_columns[lp.dataset.field_names.index("active_energy_pos_tl")] == (
        "active_energy_tl"
    )


@pytest.mark.django_db
def test_load_profile_key_and_brin_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'warehouse_load_profile'")
        definitions = " ".join(d for (d,) in cursor.fetchall())
    assert "(global_device_id, meter_datetime, channel_id)" in definitions
    assert "USING brin (meter_datetime)" in definitions
    assert "(mdc_id, db_datetime)" in definitions
    assert "USING brin (ingested_at)" in definitions


@pytest.mark.django_db
def test_every_partition_finds_what_a_run_stored_by_a_brin_index_on_ingested_at():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s)",
            [[t.name for t in TABLES.values() if t.partitioned]],
        )
        partitions = [name for (name,) in cursor.fetchall()]
        cursor.execute(
            "SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%%USING brin (ingested_at)%%'"
        )
        indexed = {name for (name,) in cursor.fetchall()}
    assert partitions and set(partitions) <= indexed
