"""Django model fields of the data set tables, derived from the UDIL definitions.

Each :class:`apps.udil.datasets.Field` becomes one Django field (:func:`model_field`) with the
spec's wording as ``help_text`` and a human ``verbose_name`` with its unit; the key columns come
from the warehouse table (:mod:`apps.warehouse.schema`). :class:`DataSetModelBase` fills a model
class with the fields of the data set it names in ``dataset_code``, so a new field or data set is
one edit in ``apps.udil`` (and an explicit migration).
"""

from __future__ import annotations

from django.db import models
from django.db.models.base import ModelBase
from django.utils.text import camel_case_to_spaces

from apps.udil.datasets import Field
from apps.warehouse.schema import WarehouseTable, table_for

DECIMAL = {"max_digits": 18, "decimal_places": 3}


def model_field(field: Field, table: WarehouseTable) -> models.Field:
    """The Django field of one data set column, as the table stores it."""
    options: dict = {"help_text": field.description, "verbose_name": field.verbose_name}
    if field.name in table.defaulted_key:
        options["default"] = 0
    elif field.name not in table.key:
        options.update(null=True, blank=True)
    elif not table.partitioned and table.key == (field.name,):
        options["primary_key"] = True
    if field.kind == "decimal":
        return models.DecimalField(**DECIMAL, **options)
    if field.kind == "int":
        return models.IntegerField(**options)
    if field.kind == "bigint":
        return models.BigIntegerField(**options)
    if field.kind == "datetime":
        return models.DateTimeField(**options)
    if field.max_length is None:
        return models.TextField(**options)
    return models.CharField(max_length=field.max_length, **options)


def model_fields(table: WarehouseTable) -> dict[str, models.Field]:
    """Every column of a warehouse table as Django fields, in the data set's order, with the
    composite primary key and the bookkeeping columns."""
    fields: dict[str, models.Field] = {}
    if len(table.key) > 1:
        fields["pk"] = models.CompositePrimaryKey(*table.key)
    for field in table.dataset.fields:
        fields[field.name] = model_field(field, table)
    fields["mdc_id"] = models.IntegerField(db_index=True)
    fields["ingested_at"] = models.DateTimeField()
    return fields


class DataSetModelBase(ModelBase):
    """Metaclass of the data set models: a concrete class naming ``dataset_code`` gets the
    fields of that data set's warehouse table, its ``db_table``, ``managed = False`` (the
    migrations create the tables) and ``time_field_name``."""

    def __new__(mcs, name, bases, attrs, **kwargs):
        code = attrs.get("dataset_code")
        declared = attrs.get("Meta")
        if code and not getattr(declared, "abstract", False):
            table = table_for(code)
            for field_name, field in model_fields(table).items():
                attrs.setdefault(field_name, field)
            attrs.setdefault("time_field_name", table.time_column or "")
            options = {
                "managed": False,
                "db_table": table.name,
                "verbose_name": camel_case_to_spaces(name),
            }
            options.update(
                {k: v for k, v in vars(declared or object).items() if not k.startswith("_")}
            )
            attrs["Meta"] = type("Meta", (), options)
        return super().__new__(mcs, name, bases, attrs, **kwargs)
