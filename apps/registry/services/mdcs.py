"""MDCs: registration, changes and the connection test."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.audit.services import audit_record
from apps.registry.models import (
    Mdc,
)
from apps.registry.services._common import (
    MDC_FIELDS,
    SECRET_FIELDS,
    _audit_changes,
    _reject_unknown,
    _save_validated,
)

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
