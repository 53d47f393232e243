"""The WAPDA commercial procedures (UDIL 2.1.3) as data: each CP is a list of named steps.

A step is one of:

- ``approval``: a person holding ``permission`` approves; the approver's authority is then the
  one the order's later commands are sent with (``WorkOrder.acting_user``);
- ``manual``: a person holding ``permission`` records that it was done (with a note);
- ``command``: a UDIL command (or an on-demand read, ``reading=True``) to the order's meter,
  sent through the commands app's service with the acting user's authority; the order waits
  until the command request is final and stops, with the MDC's reason, if the meter did not
  execute it;
- ``effect``: a change the engine applies itself (``effect`` names a function in
  ``apps.workflows.services.effects``), or a check that stops the order with a reason;
- ``billing``: the order's billing run of its reading cycle (CP10), started with the acting
  user's authority and computed by a worker; the order waits until it is computed (or failed).

Adding a CP, or changing one, is an edit of this table, not of the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models

from apps.workflows.choices import StepKind

START_FIELD = "workflows.start_field_order"
START_REVENUE = "workflows.start_revenue_order"
APPROVE_SDO = "workflows.approve_sdo"
APPROVE_BILLING_CONTROL = "workflows.approve_billing_control"
RECORD_BILLING = "workflows.record_billing_step"

#: The on-demand billing read a reading step sends (the window is filled in when it is sent).
READING_TYPE = "BILL"


@dataclass(frozen=True)
class StepDef:
    key: str
    label: str
    kind: str
    permission: str = ""
    command: str = ""
    params: dict = field(default_factory=dict)
    reading: bool = False
    #: Which of the order's meters a command goes to: ``meter``, or ``new_meter`` (CP7/CP9).
    target: str = "meter"
    #: A command whose parameters come from the meter's registration (``device_creation``).
    from_registration: bool = False
    effect: str = ""
    effect_args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Procedure:
    code: str
    label: str
    start_permission: str
    steps: tuple[StepDef, ...]
    #: The order needs the consumer's meter (every CP that sends a command does).
    needs_meter: bool = True
    #: The order names the meter that replaces it (meter change).
    needs_new_meter: bool = False
    #: Connection statuses of the consumer the CP may start from (a reconnection is for a
    #: disconnected consumer, a new connection for a pending one).
    consumer_statuses: tuple[str, ...] = ("active", "disconnected")
    #: The order is for a reading cycle, not a consumer (CP10 billing).
    needs_cycle: bool = False
    #: Options the starter may ask for (``WorkOrder.options``), with what each means.
    options: tuple[tuple[str, str], ...] = ()

    def step(self, key: str) -> StepDef:
        return next(s for s in self.steps if s.key == key)


def _approval(key: str, label: str, permission: str) -> StepDef:
    return StepDef(key, label, StepKind.APPROVAL, permission=permission)


def _relay(key: str, label: str, operate: str) -> StepDef:
    return StepDef(
        key,
        label,
        StepKind.COMMAND,
        command="aux_relay_operations",
        params={"relay_operate": operate},
    )


def _reading(key: str, label: str, target: str = "meter") -> StepDef:
    return StepDef(
        key,
        label,
        StepKind.COMMAND,
        command="on_demand_request",
        params={"type": READING_TYPE},
        reading=True,
        target=target,
    )


def _status(key: str, label: str, status: str, target: str = "meter") -> StepDef:
    return StepDef(
        key,
        label,
        StepKind.COMMAND,
        command="meter_status_update",
        params={"meter_activation_status": status},
        target=target,
    )


def _creation(key: str, label: str, target: str = "meter") -> StepDef:
    return StepDef(
        key,
        label,
        StepKind.COMMAND,
        command="device_creation",
        from_registration=True,
        target=target,
    )


def _consumer(key: str, label: str, status: str) -> StepDef:
    return StepDef(
        key, label, StepKind.EFFECT, effect="consumer_status", effect_args={"status": status}
    )


SDO_EXECUTE = _approval("sdo_execute", "SDO orders the work in the field", APPROVE_SDO)

_TEMPORARY = (
    _relay("disconnect", "Relay disconnect", "0"),
    _reading("reading", "Reading at disconnection"),
    _consumer("consumer_disconnected", "Consumer temporarily disconnected", "disconnected"),
)
_RECONNECT = (
    _relay("connect", "Relay connect", "1"),
    _reading("reading", "Reading at reconnection"),
    _consumer("consumer_active", "Consumer active", "active"),
)
_PERMANENT = (
    _relay("disconnect", "Relay disconnect", "0"),
    _reading("final_reading", "Final reading"),
    StepDef(
        "final_determinant",
        "Final billing determinant (from the final reading)",
        StepKind.EFFECT,
        effect="final_determinant",
    ),
    _status("deactivate", "Meter deactivated at its MDC (meter_status_update 0)", "0"),
    _consumer("consumer_closed", "Consumer closed", "closed"),
    StepDef("meter_to_store", "Meter returned to store", StepKind.EFFECT, effect="meter_release"),
)

_NEW_CONNECTION = (
    _creation("device_creation", "Meter created at its MDC (device_creation)"),
    _status("activate", "Meter activated at its MDC (meter_status_update 1)", "1"),
    _relay("connect", "Relay connect", "1"),
    _reading("initial_reading", "Initial reading"),
    _consumer("consumer_active", "Consumer active", "active"),
    StepDef(
        "first_cycle",
        "First reading cycle assigned (billing account in a reading batch)",
        StepKind.EFFECT,
        effect="first_cycle",
    ),
)
_METER_CHANGE = (
    _reading("final_reading", "Final reading of the old meter"),
    _status("deactivate_old", "Old meter deactivated (meter_status_update 0)", "0"),
    _creation("create_new", "New meter created at its MDC (device_creation)", "new_meter"),
    _status("activate_new", "New meter activated (meter_status_update 1)", "1", "new_meter"),
    _reading("initial_reading", "Initial reading of the new meter", "new_meter"),
    StepDef("meter_swap", "New meter serves the consumer", StepKind.EFFECT, effect="meter_swap"),
    StepDef(
        "billing_continuity",
        "Billing continuity: the cycle bills the old meter to its final reading and the new "
        "one from its initial reading",
        StepKind.EFFECT,
        effect="billing_continuity",
    ),
)
CYCLE_READING = "cycle_reading"
_BILLING = (
    StepDef("run_determinants", "Determinants computed (billing run)", StepKind.BILLING),
    StepDef(
        "review_exceptions",
        "Exceptions reviewed (Revenue Office)",
        StepKind.MANUAL,
        permission=RECORD_BILLING,
    ),
    _approval("bcs_approve", "Billing Control Section approves the run", APPROVE_BILLING_CONTROL),
    StepDef("lock", "Run approved and locked", StepKind.EFFECT, effect="billing_run_approve"),
    StepDef(
        "export",
        "Run exported to the billing system (drop directory, mirrored back)",
        StepKind.EFFECT,
        effect="billing_run_export",
    ),
)

PROCEDURES: dict[str, Procedure] = {
    p.code: p
    for p in (
        Procedure(
            "cp3",
            "CP3 temporary disconnection",
            START_FIELD,
            _TEMPORARY,
            consumer_statuses=("active",),
        ),
        Procedure(
            "cp13",
            "CP13 temporary disconnection (Revenue Office, defaulters)",
            START_REVENUE,
            (SDO_EXECUTE, *_TEMPORARY),
            consumer_statuses=("active",),
        ),
        Procedure(
            "cp5",
            "CP5 reconnection",
            START_FIELD,
            _RECONNECT,
            consumer_statuses=("disconnected",),
        ),
        Procedure(
            "cp15",
            "CP15 reconnection (Revenue Office)",
            START_REVENUE,
            (
                StepDef(
                    "arrears_check",
                    "No arrears in the billing mirror",
                    StepKind.EFFECT,
                    effect="arrears_check",
                ),
                SDO_EXECUTE,
                *_RECONNECT,
            ),
            consumer_statuses=("disconnected",),
        ),
        Procedure(
            "cp6",
            "CP6 meter reading",
            START_FIELD,
            (
                _reading("reading", "On-demand reading"),
                StepDef(
                    CYCLE_READING,
                    "Used as the cycle's reading (when asked)",
                    StepKind.EFFECT,
                    effect="cycle_reading",
                ),
            ),
            options=((CYCLE_READING, "use the reading as the consumer's cycle reading"),),
        ),
        Procedure(
            "cp10",
            "CP10 billing (reading cycle run)",
            START_REVENUE,
            _BILLING,
            needs_meter=False,
            needs_cycle=True,
            consumer_statuses=(),
        ),
        Procedure(
            "cp4",
            "CP4 permanent disconnection",
            START_FIELD,
            (
                _approval("sdo_approve", "SDO approves the permanent disconnection", APPROVE_SDO),
                *_PERMANENT,
            ),
        ),
        Procedure(
            "cp2",
            "CP2 new connection",
            START_FIELD,
            _NEW_CONNECTION,
            consumer_statuses=("pending",),
        ),
        Procedure(
            "cp8",
            "CP8 new connection (Revenue Office)",
            START_REVENUE,
            (SDO_EXECUTE, *_NEW_CONNECTION),
            consumer_statuses=("pending",),
        ),
        Procedure(
            "cp7",
            "CP7 meter change",
            START_FIELD,
            _METER_CHANGE,
            needs_new_meter=True,
        ),
        Procedure(
            "cp9",
            "CP9 meter change (Billing Control Section)",
            START_FIELD,
            (
                *_METER_CHANGE,
                _approval(
                    "bcs_approve",
                    "Billing Control Section approves the change for billing",
                    APPROVE_BILLING_CONTROL,
                ),
            ),
            needs_new_meter=True,
        ),
        Procedure(
            "cp14",
            "CP14 permanent disconnection (Revenue Office)",
            START_REVENUE,
            (SDO_EXECUTE, *_PERMANENT),
        ),
    )
}


class ProcedureCode(models.TextChoices):
    CP2 = "cp2", PROCEDURES["cp2"].label
    CP3 = "cp3", PROCEDURES["cp3"].label
    CP4 = "cp4", PROCEDURES["cp4"].label
    CP5 = "cp5", PROCEDURES["cp5"].label
    CP6 = "cp6", PROCEDURES["cp6"].label
    CP7 = "cp7", PROCEDURES["cp7"].label
    CP8 = "cp8", PROCEDURES["cp8"].label
    CP9 = "cp9", PROCEDURES["cp9"].label
    CP10 = "cp10", PROCEDURES["cp10"].label
    CP13 = "cp13", PROCEDURES["cp13"].label
    CP14 = "cp14", PROCEDURES["cp14"].label
    CP15 = "cp15", PROCEDURES["cp15"].label


assert set(ProcedureCode.values) == set(PROCEDURES)

#: Procedures that may be started in bulk from a filter (CP6 readings, CP13 defaulters).
BULK_PROCEDURES = ("cp6", "cp13")


def step_keys() -> list[tuple[str, str]]:
    """(key, label) of every step of every procedure, for the step filter."""
    seen: dict[str, str] = {}
    for procedure in PROCEDURES.values():
        for step in procedure.steps:
            seen.setdefault(step.key, step.label)
    return sorted(seen.items())
