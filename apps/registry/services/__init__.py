"""Writes to the registry. Every function is keyword-only, atomic, validated, and audited.

Services raise ``django.core.exceptions.ValidationError`` (with a field -> messages dict where a
field is at fault); views put the messages on the form, the API answers 400 with them.
Credentials never reach the audit trail or a log line: only the fact that they changed does.
"""

from __future__ import annotations

from apps.registry.services._common import (
    CONSUMER_FIELDS,
    MDC_FIELDS,
    METER_FIELDS,
    SECRET_FIELDS,
)
from apps.registry.services.hierarchy import (
    circle_create,
    consumer_create,
    consumer_update,
    disco_create,
    division_create,
    feeder_create,
    hierarchy_node_update,
    hierarchy_path_ensure,
    subdivision_create,
    transformer_create,
)
from apps.registry.services.imports import (
    IMPORT_COLUMNS,
    ImportReport,
    meters_import_csv,
)
from apps.registry.services.mdcs import (
    CONNECTION_TEST_ACTION,
    ConnectionResult,
    _describe_failure,
    mdc_register,
    mdc_test_connection,
    mdc_update,
    transport_probe,
)
from apps.registry.services.meters import (
    meter_register,
    meter_register_at_mdc,
    meter_state_record,
    meter_update,
    meters_device_creation_send,
    meters_state_record,
)

__all__ = [
    "CONNECTION_TEST_ACTION",
    "CONSUMER_FIELDS",
    "IMPORT_COLUMNS",
    "MDC_FIELDS",
    "METER_FIELDS",
    "SECRET_FIELDS",
    "ConnectionResult",
    "ImportReport",
    "_describe_failure",
    "circle_create",
    "consumer_create",
    "consumer_update",
    "disco_create",
    "division_create",
    "feeder_create",
    "hierarchy_node_update",
    "hierarchy_path_ensure",
    "mdc_register",
    "mdc_test_connection",
    "mdc_update",
    "meter_register",
    "meter_register_at_mdc",
    "meter_state_record",
    "meter_update",
    "meters_device_creation_send",
    "meters_import_csv",
    "meters_state_record",
    "subdivision_create",
    "transformer_create",
    "transport_probe",
]
