"""Simulator writes and the MDC side of every UDIL service (views only call these).

The package by concern (each name below is importable from here, as before the split):

- :mod:`.fleet`: :func:`sim_mdc_create` builds a simulated MDC and its fleet (deterministic
  from ``seed``); :func:`sim_meter_add` adds one meter; :func:`sim_faults_update` changes
  fault settings; :func:`tabular_dsn`.
- :mod:`.protocol`: :func:`sim_authorize`, :func:`sim_key_check`, :func:`sim_read`;
  :mod:`.commands`: :func:`sim_command_submit`; :mod:`.transactions`:
  :func:`sim_transaction_status`, :func:`sim_transaction_cancel`. These are what the HTTP
  views call; they take ``now`` so a test can move time.
- :func:`sim_transactions_advance` (:mod:`.commands`) moves commands through status levels
  0..5 by the time elapsed (idempotent; effects, in :mod:`.effects`, apply exactly once, when
  a device reaches level 5).
- :func:`apps.simulator.tabular.sim_tabular_sync` fills the tables of a tabular MDC.
"""

from apps.simulator.models import CredentialsIn

from .commands import (
    SUCCESS_MESSAGES,
    UNREACHABLE,
    sim_command_submit,
    sim_transactions_advance,
)
from .common import MAX_ON_DEMAND_DAYS, MAX_READ_DAYS, Q3, SimError
from .effects import EFFECTS, PARAMETERIZATION, on_demand_rows
from .fleet import (
    BASE_LOAD_W,
    FAULT_FIELDS,
    FAULT_LIMITS,
    MAX_LATENCY_MS,
    PROFILE_MIX,
    SimFleet,
    sim_faults_update,
    sim_mdc_create,
    sim_meter_add,
    tabular_dsn,
)
from .handlers import HANDLERS, SimHandler
from .protocol import ReadResult, sim_authorize, sim_key_check, sim_read
from .transactions import (
    TRANSACTION_FIELDS,
    sim_transaction_cancel,
    sim_transaction_status,
    transaction_row,
)

__all__ = [
    "BASE_LOAD_W",
    "EFFECTS",
    "FAULT_FIELDS",
    "FAULT_LIMITS",
    "HANDLERS",
    "MAX_LATENCY_MS",
    "MAX_ON_DEMAND_DAYS",
    "MAX_READ_DAYS",
    "PARAMETERIZATION",
    "PROFILE_MIX",
    "Q3",
    "SUCCESS_MESSAGES",
    "TRANSACTION_FIELDS",
    "UNREACHABLE",
    "CredentialsIn",
    "ReadResult",
    "SimError",
    "SimFleet",
    "SimHandler",
    "on_demand_rows",
    "sim_authorize",
    "sim_command_submit",
    "sim_faults_update",
    "sim_key_check",
    "sim_mdc_create",
    "sim_meter_add",
    "sim_read",
    "sim_transaction_cancel",
    "sim_transaction_status",
    "sim_transactions_advance",
    "tabular_dsn",
    "transaction_row",
]
