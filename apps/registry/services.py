"""Writes to the registry. Every function is keyword-only, atomic, validated, and audited.

Services raise ``django.core.exceptions.ValidationError`` (with a field -> messages dict where a
field is at fault); views put the messages on the form, the API answers 400 with them.
Credentials never reach the audit trail or a log line: only the fact that they changed does.
"""

from __future__ import annotations

import csv
import datetime
import io
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.registry import field_lists, validation
from apps.registry.choices import (
    ActivationStatus,
    CommunicationMode,
    CommunicationType,
    DeviceType,
    MeterType,
    Phase,
    ProfileHint,
    RelayState,
)
from apps.registry.device_ids import device_id_problem, device_ids_next
from apps.registry.models import (
    Circle,
    Consumer,
    Disco,
    Division,
    Feeder,
    Mdc,
    Meter,
    Subdivision,
    Transformer,
)

SECRET_FIELDS = field_lists.SECRET_FIELDS
MDC_FIELDS = frozenset(field_lists.MDC_FIELDS)
METER_FIELDS = frozenset(field_lists.METER_FIELDS)
CONSUMER_FIELDS = frozenset(field_lists.CONSUMER_FIELDS)


# --- helpers -----------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, Decimal | datetime.date | datetime.time | datetime.datetime):
        return str(value)
    return value


def _audit_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of a change: values, except secrets, which only say they changed."""
    return {
        name: ("(changed)" if name in SECRET_FIELDS else _jsonable(value))
        for name, value in changes.items()
    }


def _reject_unknown(changes: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in unknown})


def _save_validated(instance: models.Model, *, exclude: list[str] | None = None) -> None:
    instance.full_clean(exclude=exclude)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:  # a concurrent writer won a unique race
        raise ValidationError(f"Conflicts with an existing record: {exc}") from exc


# --- MDCs --------------------------------------------------------------------------------------


@transaction.atomic
def mdc_register(
    *,
    actor,
    code: str,
    name: str,
    vendor: str = "",
    base_url: str = "",
    **settings: Any,
) -> Mdc:
    """Register a vendor head end. ``settings`` are further ``Mdc`` fields (see MDC_FIELDS)."""
    _reject_unknown(settings, MDC_FIELDS)
    mdc = Mdc(code=code, name=name, vendor=vendor, base_url=base_url, **settings)
    _save_validated(mdc)
    audit_record(
        actor=actor,
        action="registry.mdc.register",
        target=mdc,
        summary=f"Registered MDC {mdc.code} ({mdc.name})",
        detail=_audit_changes({"code": code, "name": name, "vendor": vendor, **settings}),
    )
    return mdc


@transaction.atomic
def mdc_update(*, actor, mdc: Mdc, **changes: Any) -> Mdc:
    """Change an MDC. A secret passed as None is left as stored."""
    changes = {k: v for k, v in changes.items() if not (k in SECRET_FIELDS and v is None)}
    _reject_unknown(changes, MDC_FIELDS)
    mdc = Mdc.objects.select_for_update().get(pk=mdc.pk)
    changed = {k: v for k, v in changes.items() if getattr(mdc, k) != v}
    for name, value in changed.items():
        setattr(mdc, name, value)
    if changed:
        _save_validated(mdc)
        audit_record(
            actor=actor,
            action="registry.mdc.update",
            target=mdc,
            summary=f"Changed MDC {mdc.code}: {', '.join(sorted(changed))}",
            detail=_audit_changes(changed),
        )
    return mdc


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    latency_ms: int
    message: str


def transport_probe(mdc: Mdc) -> str:
    """Try the MDC over its transport (the transport classes live in ``apps.ingestion``,
    above the registry: reached through ``settings.REGISTRY_TRANSPORT_PROBE``)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.REGISTRY_TRANSPORT_PROBE)(mdc)


def _describe_failure(exc: Exception) -> str:
    from apps.udil.errors import UdilStatusError

    if isinstance(exc, UdilStatusError):
        if exc.http_status == 401:
            return f"Refused: the MDC rejected the credentials (HTTP 401). {exc.message}".strip()
        return f"The MDC answered with an error: {exc}"
    name = type(exc).__name__
    text = str(exc)
    if getattr(exc, "sqlstate", None) or name.startswith("Operational"):
        # psycopg messages can echo the connection string; keep only the first line.
        text = text.splitlines()[0] if text else ""
    return f"{name}: {text}" if text else name


# Its audit entries are the stored probes: MDC health reads the last one (apps.ingestion).
CONNECTION_TEST_ACTION = "registry.mdc.test_connection"


def mdc_test_connection(*, actor, mdc: Mdc) -> ConnectionResult:
    """Try the MDC: API transport authorizes; tabular transport opens the database and checks
    its views; flat files check the delivery directory (``apps.ingestion.transports``).
    Audited. Run by "Test connection" and by the periodic probe (``actor`` None)."""
    started = time.monotonic()
    try:
        message = transport_probe(mdc)
        ok = True
    except Exception as exc:  # any failure is the answer: report it, never raise
        ok, message = False, _describe_failure(exc)
    latency_ms = round((time.monotonic() - started) * 1000)
    result = ConnectionResult(ok=ok, latency_ms=latency_ms, message=message[:1500])
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=CONNECTION_TEST_ACTION,
            target=mdc,
            summary=f"Tested MDC {mdc.code}: {'ok' if ok else 'failed'} in {latency_ms} ms",
            detail={"ok": ok, "latency_ms": latency_ms, "message": result.message},
        )
    return result


# --- network hierarchy -------------------------------------------------------------------------

HIERARCHY_LEVELS: list[tuple[str, type[models.Model], str | None]] = [
    ("disco", Disco, None),
    ("circle", Circle, "disco"),
    ("division", Division, "circle"),
    ("subdivision", Subdivision, "division"),
    ("feeder", Feeder, "subdivision"),
    ("transformer", Transformer, "feeder"),
]
_PARENT_OF = {model: parent for _, model, parent in HIERARCHY_LEVELS}


def _node_create(model, *, actor, code: str, name: str, parent=None, **extra) -> models.Model:
    parent_field = _PARENT_OF[model]
    kwargs: dict[str, Any] = {"code": code, "name": name, **extra}
    if parent_field:
        if parent is None:
            raise ValidationError({parent_field: "This field is required."})
        kwargs[parent_field] = parent
    node = model(**kwargs)
    _save_validated(node)
    label = model._meta.verbose_name
    audit_record(
        actor=actor,
        action=f"registry.{model._meta.model_name}.create",
        target=node,
        summary=f"Created {label} {code}" + (f" under {parent}" if parent is not None else ""),
        detail={k: _jsonable(v) for k, v in kwargs.items()},
    )
    return node


@transaction.atomic
def disco_create(*, actor, code: str, name: str) -> Disco:
    return _node_create(Disco, actor=actor, code=code, name=name)


@transaction.atomic
def circle_create(*, actor, disco: Disco, code: str, name: str) -> Circle:
    return _node_create(Circle, actor=actor, parent=disco, code=code, name=name)


@transaction.atomic
def division_create(*, actor, circle: Circle, code: str, name: str) -> Division:
    return _node_create(Division, actor=actor, parent=circle, code=code, name=name)


@transaction.atomic
def subdivision_create(*, actor, division: Division, code: str, name: str) -> Subdivision:
    return _node_create(Subdivision, actor=actor, parent=division, code=code, name=name)


@transaction.atomic
def feeder_create(*, actor, subdivision: Subdivision, code: str, name: str) -> Feeder:
    return _node_create(Feeder, actor=actor, parent=subdivision, code=code, name=name)


@transaction.atomic
def transformer_create(
    *, actor, feeder: Feeder, code: str, name: str, capacity_kva: Decimal | None = None
) -> Transformer:
    return _node_create(
        Transformer, actor=actor, parent=feeder, code=code, name=name, capacity_kva=capacity_kva
    )


@transaction.atomic
def hierarchy_node_update(*, actor, node: models.Model, **changes: Any) -> models.Model:
    """Rename a node (``name``, ``code``; ``capacity_kva`` for transformers)."""
    allowed = {"code", "name"} | ({"capacity_kva"} if isinstance(node, Transformer) else set())
    _reject_unknown(changes, frozenset(allowed))
    changed = {k: v for k, v in changes.items() if getattr(node, k) != v}
    for name, value in changed.items():
        setattr(node, name, value)
    if changed:
        _save_validated(node)
        audit_record(
            actor=actor,
            action=f"registry.{node._meta.model_name}.update",
            target=node,
            summary=f"Changed {node._meta.verbose_name} {node.code}",
            detail={k: _jsonable(v) for k, v in changed.items()},
        )
    return node


@transaction.atomic
def hierarchy_path_ensure(
    *,
    actor,
    disco: str,
    circle: str,
    division: str,
    subdivision: str,
    feeder: str,
    transformer: str,
    capacity_kva: Decimal | None = None,
) -> Transformer:
    """Get or create a whole branch by codes (names default to the codes); returns the
    transformer. Handy for seeding and for imports from a CIS."""
    codes = [disco, circle, division, subdivision, feeder, transformer]
    parent = None
    for (_, model, parent_field), code in zip(HIERARCHY_LEVELS, codes, strict=True):
        lookup = {"code": code}
        if parent_field:
            lookup[parent_field] = parent
        node = model.objects.filter(**lookup).first()
        if node is None:
            extra = {"capacity_kva": capacity_kva} if model is Transformer else {}
            node = _node_create(model, actor=actor, code=code, name=code, parent=parent, **extra)
        parent = node
    return parent


# --- consumers ---------------------------------------------------------------------------------


@transaction.atomic
def consumer_create(*, actor, reference_no: str, name: str, **attrs: Any) -> Consumer:
    _reject_unknown(attrs, CONSUMER_FIELDS)
    consumer = Consumer(reference_no=reference_no, name=name, **attrs)
    _save_validated(consumer)
    audit_record(
        actor=actor,
        action="registry.consumer.create",
        target=consumer,
        summary=f"Created consumer {reference_no}",
        detail={"reference_no": reference_no, **_audit_changes(attrs)},
    )
    return consumer


@transaction.atomic
def consumer_update(*, actor, consumer: Consumer, **changes: Any) -> Consumer:
    _reject_unknown(changes, CONSUMER_FIELDS | {field_lists.CONSUMER_KEY})
    changed = {k: v for k, v in changes.items() if getattr(consumer, k) != v}
    for name, value in changed.items():
        setattr(consumer, name, value)
    if changed:
        _save_validated(consumer)
        audit_record(
            actor=actor,
            action="registry.consumer.update",
            target=consumer,
            summary=f"Changed consumer {consumer.reference_no}: {', '.join(sorted(changed))}",
            detail=_audit_changes(changed),
        )
    return consumer


# --- meters ------------------------------------------------------------------------------------


def _check_explicit_device_id(global_device_id: str) -> None:
    problem = device_id_problem(global_device_id)
    if problem:
        raise ValidationError({"global_device_id": problem})
    if Meter.objects.filter(global_device_id=global_device_id).exists():
        raise ValidationError({"global_device_id": f"{global_device_id} is already registered."})


@transaction.atomic
def meter_register(
    *, actor, msn: int, mdc: Mdc, global_device_id: str | None = None, **attrs: Any
) -> Meter:
    """Register a device with an MDC. The MDM assigns ``global_device_id`` unless given."""
    _reject_unknown(attrs, METER_FIELDS - {"mdc"})
    if global_device_id:
        _check_explicit_device_id(global_device_id)
    else:
        global_device_id = device_ids_next(1)[0]
    meter = Meter(global_device_id=global_device_id, msn=msn, mdc=mdc, **attrs)
    _save_validated(meter)
    audit_record(
        actor=actor,
        action="registry.meter.register",
        target=meter,
        summary=f"Registered {meter.global_device_id} (msn {msn}) with MDC {mdc.code}",
        detail={"global_device_id": global_device_id, "msn": msn, "mdc": mdc.code}
        | _audit_changes(attrs),
    )
    return meter


@transaction.atomic
def meter_update(*, actor, meter: Meter, **changes: Any) -> Meter:
    """Change a meter's registration. ``global_device_id`` never changes; ``msn`` may be
    corrected. Relay, load limit and device settings change through :func:`meter_state_record`."""
    _reject_unknown(changes, METER_FIELDS | {"msn"})
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    changed = {k: v for k, v in changes.items() if getattr(meter, k) != v}
    for name, value in changed.items():
        setattr(meter, name, value)
    if changed:
        _save_validated(meter)
        audit_record(
            actor=actor,
            action="registry.meter.update",
            target=meter,
            summary=f"Changed {meter.global_device_id}: {', '.join(sorted(changed))}",
            detail=_audit_changes(changed),
        )
    return meter


@transaction.atomic
def meter_state_record(
    *,
    actor,
    meter: Meter,
    transactionid: str,
    at: datetime.datetime,
    relay_state: str | None = None,
    load_limit_kw: Decimal | None = None,
    settings: dict[str, Any] | None = None,
) -> Meter:
    """Record device state confirmed by an MDC transaction (for the commands app).

    ``settings`` maps a setting name (``load_shedding``, ``time_of_use``, ``ip_port``,
    ``sampling``, ``wake_up_numbers``, ``optical_port``...) to its new value; each is stored
    as ``{"value": ..., "transactionid": ..., "at": iso datetime}``.
    """
    if at.tzinfo is None:
        raise ValidationError({"at": "Must be timezone-aware."})
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    changed: dict[str, Any] = {}
    if relay_state is not None:
        if relay_state not in RelayState.values:
            raise ValidationError({"relay_state": f"Unknown relay state {relay_state!r}."})
        meter.relay_state = changed["relay_state"] = relay_state
    if load_limit_kw is not None:
        meter.load_limit_kw = changed["load_limit_kw"] = Decimal(load_limit_kw)
    for name, value in (settings or {}).items():
        entry = {"value": value, "transactionid": transactionid, "at": at.isoformat()}
        meter.device_settings = {**meter.device_settings, name: entry}
        changed[f"settings.{name}"] = value
    if changed:
        meter.save(update_fields=["relay_state", "load_limit_kw", "device_settings", "updated_at"])
        audit_record(
            actor=actor,
            action="registry.meter.state",
            target=meter,
            summary=f"{meter.global_device_id}: {', '.join(changed)} from {transactionid}",
            detail={"transactionid": transactionid, **_audit_changes(changed)},
        )
    return meter


class _JsonbMerge(models.Func):
    """``device_settings || <jsonb>``: keys on the right replace those on the left."""

    template = "(COALESCE(%(expressions)s))"
    arg_joiner = ", '{}'::jsonb) || ("
    output_field = models.JSONField()


def _meter_ids(meters) -> list[int]:
    if isinstance(meters, models.QuerySet):
        return list(meters.order_by().values_list("pk", flat=True))
    return [m.pk if isinstance(m, Meter) else int(m) for m in meters]


@transaction.atomic
def meters_state_record(
    *,
    actor,
    meters,
    transactionid: str,
    at: datetime.datetime,
    relay_state: str | None = None,
    load_limit_kw: Decimal | None = None,
    activation_status: int | None = None,
    settings: dict[str, Any] | None = None,
    target: models.Model | None = None,
) -> int:
    """Record the same device state, confirmed by one MDC transaction, for a set of meters.

    The set-based form of :func:`meter_state_record` (for the commands app): ``meters`` is a
    queryset, meter ids or Meter instances; whatever their number, one UPDATE writes them and
    one audit row (``target``: the command's transaction, if given) summarises the call.
    Settings are stored as in :func:`meter_state_record`: ``device_settings[name] =
    {"value": ..., "transactionid": ..., "at": iso datetime}``, other settings kept.
    Returns the number of meters updated.
    """
    if at.tzinfo is None:
        raise ValidationError({"at": "Must be timezone-aware."})
    changed: dict[str, Any] = {}
    if relay_state is not None:
        if relay_state not in RelayState.values:
            raise ValidationError({"relay_state": f"Unknown relay state {relay_state!r}."})
        changed["relay_state"] = str(relay_state)
    if load_limit_kw is not None:
        changed["load_limit_kw"] = Decimal(load_limit_kw)
    if activation_status is not None:
        if activation_status not in ActivationStatus.values:
            raise ValidationError(
                {"activation_status": f"Unknown activation status {activation_status!r}."}
            )
        changed["activation_status"] = int(activation_status)
    entries = {
        name: {"value": value, "transactionid": transactionid, "at": at.isoformat()}
        for name, value in (settings or {}).items()
    }
    ids = _meter_ids(meters)
    if not ids or not (changed or entries):
        return 0
    update: dict[str, Any] = {**changed, "updated_at": timezone.now()}
    if entries:
        update["device_settings"] = _JsonbMerge(
            models.F("device_settings"), models.Value(entries, output_field=models.JSONField())
        )
    count = Meter.objects.filter(pk__in=ids).update(**update)
    names = [*changed, *(f"settings.{n}" for n in entries)]
    audit_record(
        actor=actor,
        action="registry.meters.state",
        target=target,
        summary=f"{count} meters: {', '.join(names)} from {transactionid}",
        detail={
            "transactionid": transactionid,
            "meters": count,
            "at": at.isoformat(),
            **_audit_changes(changed),
            "settings": sorted(entries),
        },
    )
    return count


# --- CSV import --------------------------------------------------------------------------------


@transaction.atomic
def meter_register_at_mdc(*, actor, send_device_creation: bool = False, **registration) -> Meter:
    """:func:`meter_register`, then (when asked) device_creation at its MDC, as one unit: if
    the command cannot be sent (parameters the MDC would refuse, no permission to send
    commands), nothing is registered and the error names ``send_device_creation``."""
    from django.core.exceptions import PermissionDenied

    meter = meter_register(actor=actor, **registration)
    if send_device_creation:
        try:
            meters_device_creation_send(actor=actor, meters=[meter.pk])
        except PermissionDenied as exc:
            raise ValidationError({"send_device_creation": str(exc)}) from exc
        except ValidationError as exc:
            reason = "; ".join(exc.messages)
            raise ValidationError(
                {"send_device_creation": f"device_creation cannot be sent: {reason}"}
            ) from exc
    return meter


def meters_device_creation_send(*, actor, meters) -> list:
    """Create these registered meters at their MDCs (UDIL ``device_creation``) through the
    commands app's service (``settings.REGISTRY_DEVICE_CREATION_SEND``): audited and tracked
    as a command; the meter page shows the MDC's confirmation. Returns the requests made."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.REGISTRY_DEVICE_CREATION_SEND)(actor=actor, meters=meters)


@dataclass
class ImportReport:
    created: int = 0
    rows_total: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    #: the meters created, for what follows an import (device_creation at their MDCs)
    created_ids: list[int] = field(default_factory=list)
    #: device_creation command requests sent for them, or why none could be sent
    device_creation_requests: list[int] = field(default_factory=list)
    device_creation_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


IMPORT_COLUMNS = field_lists.METER_REGISTRATION
_INT_CHOICES = {
    "device_type": DeviceType,
    "phase": Phase,
    "meter_type": MeterType,
    "communication_mode": CommunicationMode,
    "communication_type": CommunicationType,
    "activation_status": ActivationStatus,
}


class _RowError(Exception):
    pass


def _read_csv(file) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    raw = file.read()
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _RowError("the file is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = []
    for row in reader:
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue  # blank line
        if None in row:
            values["__extra__"] = "yes"
        rows.append((reader.line_num, values))
    return header, rows


def _int_in(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise _RowError(f"{name} {value!r} is not a whole number") from exc
    if not low <= number <= high:
        raise _RowError(f"{name} {number} is out of range {low}..{high}")
    return number


def _choice(value: str, name: str, choices) -> int:
    try:
        number = int(value)
    except ValueError:
        by_label = {label.lower(): v for v, label in choices.choices}
        if value.lower() in by_label:
            return by_label[value.lower()]
        raise _RowError(f"{name} {value!r} is not one of {choices.values}") from None
    if number not in choices.values:
        raise _RowError(f"{name} {number} is not one of {choices.values}")
    return number


def _transformer_index() -> tuple[dict[str, list[int]], dict[str, int]]:
    """Transformers by bare code (may be ambiguous) and by full path ``D/C/Dv/S/F/T``."""
    by_code: dict[str, list[int]] = {}
    by_path: dict[str, int] = {}
    rows = Transformer.objects.values_list(
        "pk",
        "feeder__subdivision__division__circle__disco__code",
        "feeder__subdivision__division__circle__code",
        "feeder__subdivision__division__code",
        "feeder__subdivision__code",
        "feeder__code",
        "code",
    )
    for pk, *codes in rows:
        by_code.setdefault(codes[-1], []).append(pk)
        by_path["/".join(codes)] = pk
    return by_code, by_path


def _parse_row(
    values: dict[str, str],
    *,
    default_mdc: Mdc | None,
    mdcs: dict[str, Mdc],
    transformers: tuple[dict[str, list[int]], dict[str, int]],
    consumers: dict[str, int],
) -> dict[str, Any]:
    if values.get("__extra__"):
        raise _RowError("more values than columns")
    for name, value in values.items():
        if "\x00" in value:
            raise _RowError(f"{name} contains a NUL character")
    msn_text = values.get("msn", "")
    if not msn_text:
        raise _RowError("msn is missing")
    if not (msn_text.isascii() and msn_text.isdigit()):  # "²".isdigit() is True
        raise _RowError(f"msn {msn_text!r} is not a positive whole number")
    msn = int(msn_text)
    problem = validation.msn_problem(msn)  # the rule of the model, for the API and pages too
    if problem:
        raise _RowError(problem)
    row: dict[str, Any] = {"msn": msn}

    gdid = values.get("global_device_id", "")
    if gdid:
        problem = device_id_problem(gdid)
        if problem:
            raise _RowError(problem)
    row["global_device_id"] = gdid or None

    mdc_code = values.get("mdc", "")
    if mdc_code:
        if mdc_code not in mdcs:
            raise _RowError(f"unknown MDC code {mdc_code!r}")
        row["mdc"] = mdcs[mdc_code]
    elif default_mdc is not None:
        row["mdc"] = default_mdc
    else:
        raise _RowError("mdc is missing (no column value and no MDC chosen for the import)")

    for name, choices in _INT_CHOICES.items():
        if values.get(name):
            row[name] = _choice(values[name], name, choices)
    if values.get("communication_interval"):
        row["communication_interval"] = _int_in(
            values["communication_interval"], "communication_interval", 1, 10080
        )
    if values.get("mdi_reset_date"):
        row["mdi_reset_date"] = _int_in(values["mdi_reset_date"], "mdi_reset_date", 1, 28)
    if values.get("mdi_reset_time"):
        text = values["mdi_reset_time"]
        try:
            row["mdi_reset_time"] = datetime.time.fromisoformat(text)
        except ValueError as exc:
            raise _RowError(f"mdi_reset_time {text!r} is not a time like 00:00:00") from exc
    for name in ("sim_number", "sim_id"):
        if values.get(name):
            if len(values[name]) > 50:
                raise _RowError(f"{name} is longer than 50 characters")
            row[name] = values[name]
    if values.get("profile_hint"):
        hint = values["profile_hint"].lower()
        if hint not in ProfileHint.values:
            raise _RowError(f"profile_hint {hint!r} is not one of {ProfileHint.values}")
        row["profile_hint"] = hint

    code = values.get("transformer", "")
    if code:
        by_code, by_path = transformers
        if "/" in code:
            if code not in by_path:
                raise _RowError(f"unknown transformer path {code!r}")
            row["transformer_id"] = by_path[code]
        else:
            found = by_code.get(code, [])
            if not found:
                raise _RowError(f"unknown transformer code {code!r}")
            if len(found) > 1:
                raise _RowError(
                    f"transformer code {code!r} is ambiguous: give the path "
                    "DISCO/CIRCLE/DIVISION/SUBDIVISION/FEEDER/TRANSFORMER"
                )
            row["transformer_id"] = found[0]
    reference = values.get("consumer", "")
    if reference:
        if reference not in consumers:
            raise _RowError(f"unknown consumer reference {reference!r}")
        row["consumer_id"] = consumers[reference]
    return row


def meters_import_csv(
    *,
    actor,
    file,
    mdc: Mdc | None = None,
    all_or_nothing: bool = False,
    send_device_creation: bool = False,
) -> ImportReport:
    """See :func:`_meters_import_csv`; with ``send_device_creation`` the imported meters are
    then created at their MDCs (device_creation, tracked commands). The import stands if the
    commands cannot be sent; the report says why."""
    from django.core.exceptions import PermissionDenied

    report = _meters_import_csv(actor=actor, file=file, mdc=mdc, all_or_nothing=all_or_nothing)
    if send_device_creation and report.created_ids:
        try:
            sent = meters_device_creation_send(actor=actor, meters=report.created_ids)
            report.device_creation_requests = [r.pk for r in sent]
        except (ValidationError, PermissionDenied) as exc:
            report.device_creation_error = "; ".join(getattr(exc, "messages", [str(exc)]))
    return report


def _meters_import_csv(
    *, actor, file, mdc: Mdc | None = None, all_or_nothing: bool = False
) -> ImportReport:
    """Register meters from a CSV file (header row; columns in ``IMPORT_COLUMNS``, ``msn``
    required, ``mdc`` by code unless ``mdc`` is given, ``transformer`` by code or path,
    ``consumer`` by reference number). Every bad row is reported with its line number; the good
    rows are created, or none when ``all_or_nothing`` and any row is bad. A few queries in all,
    whatever the number of rows."""
    report = ImportReport()
    try:
        validation.import_file_size(file)
    except ValidationError as exc:
        report.errors.append((0, exc.messages[0]))
        return report
    try:
        header, rows = _read_csv(file)
    except (_RowError, csv.Error) as exc:
        report.errors.append((0, str(exc)))
        return report
    report.rows_total = len(rows)
    if "msn" not in header:
        report.errors.append((1, "the header has no 'msn' column"))
        return report
    unknown = [name for name in header if name and name not in IMPORT_COLUMNS]
    if unknown:
        report.errors.append((1, f"unknown columns: {', '.join(unknown)}"))
        return report

    mdcs = {m.code: m for m in Mdc.objects.all()}
    transformers = _transformer_index()
    references = {values.get("consumer") for _, values in rows} - {"", None}
    consumers = dict(
        Consumer.objects.filter(reference_no__in=references).values_list("reference_no", "pk")
    )

    parsed: list[tuple[int, dict[str, Any]]] = []
    seen_msn: dict[int, int] = {}
    seen_gdid: dict[str, int] = {}
    for line_no, values in rows:
        try:
            row = _parse_row(
                values, default_mdc=mdc, mdcs=mdcs, transformers=transformers, consumers=consumers
            )
        except _RowError as exc:
            report.errors.append((line_no, str(exc)))
            continue
        if row["msn"] in seen_msn:
            report.errors.append(
                (line_no, f"msn {row['msn']} repeats line {seen_msn[row['msn']]} of this file")
            )
            continue
        seen_msn[row["msn"]] = line_no
        gdid = row["global_device_id"]
        if gdid and gdid in seen_gdid:
            report.errors.append(
                (line_no, f"global_device_id {gdid} repeats line {seen_gdid[gdid]} of this file")
            )
            continue
        if gdid:
            seen_gdid[gdid] = line_no
        parsed.append((line_no, row))

    existing_msn = set(
        Meter.objects.filter(msn__in=[r["msn"] for _, r in parsed]).values_list("msn", flat=True)
    )
    existing_gdid = set(
        Meter.objects.filter(global_device_id__in=list(seen_gdid)).values_list(
            "global_device_id", flat=True
        )
    )
    good: list[dict[str, Any]] = []
    for line_no, row in parsed:
        if row["msn"] in existing_msn:
            report.errors.append((line_no, f"msn {row['msn']} is already registered"))
        elif row["global_device_id"] in existing_gdid:
            report.errors.append(
                (line_no, f"global_device_id {row['global_device_id']} is already registered")
            )
        else:
            good.append(row)
    report.errors.sort()

    if report.errors and all_or_nothing:
        good = []
    if good:
        try:
            with transaction.atomic():
                needed = sum(1 for row in good if not row["global_device_id"])
                new_ids = iter(device_ids_next(needed, taken=set(seen_gdid)))
                meters = [
                    Meter(**{**row, "global_device_id": row["global_device_id"] or next(new_ids)})
                    for row in good
                ]
                Meter.objects.bulk_create(meters, batch_size=1000)
                report.created = len(meters)
                report.created_ids = [m.pk for m in meters]
                _audit_import(actor, report, mdc)
        except IntegrityError as exc:
            report.created = 0
            report.errors.append((0, f"nothing imported: a conflicting meter appeared ({exc})"))
    else:
        with transaction.atomic():
            _audit_import(actor, report, mdc)
    return report


def _audit_import(actor, report: ImportReport, mdc: Mdc | None) -> None:
    audit_record(
        actor=actor,
        action="registry.meter.import",
        target=mdc,
        summary=(
            f"Imported {report.created} of {report.rows_total} meters from CSV"
            + (f" ({len(report.errors)} bad rows)" if report.errors else "")
        ),
        detail={
            "created": report.created,
            "rows_total": report.rows_total,
            "errors": [list(e) for e in report.errors[:200]],
        },
    )
