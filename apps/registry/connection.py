"""Test connection before an MDC is saved: the create/edit form's values (with stored secrets
where the form leaves them blank) are tried as an unsaved MDC, and what fails is told on the
form field concerned ("code: is required" says the authorization code is empty)."""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.services import audit_record
from apps.registry import services
from apps.registry.choices import Transport
from apps.registry.field_lists import MDC_FIELDS, SECRET_FIELDS
from apps.registry.models import Mdc

DRAFT_TEST_ACTION = "registry.mdc.test_draft"

#: UDIL parameter names (as the MDC names them in its messages) -> the MDC form's fields.
UDIL_PARAM_FIELDS = {
    "username": "username",
    "password": "password",
    "code": "auth_code",
    "privatekey": "key_lifetime_minutes",
}
FIELD_LABELS = {
    "username": "username",
    "password": "password",
    "auth_code": "authorization code",
    "base_url": "base URL",
    "tabular_database_url": "tabular database URL",
    "file_directory": "delivery directory",
}
#: What a transport needs before it is worth calling the MDC.
REQUIRED = {
    Transport.API: ("base_url", "username", "password", "auth_code"),
    Transport.TABULAR: ("tabular_database_url",),
    Transport.FILE: ("file_directory",),
}
_PARAM_MESSAGE = re.compile(r"\b([a-z_]+): ([^;,.]+)")


@dataclass(frozen=True)
class DraftResult:
    ok: bool
    latency_ms: int
    message: str
    field_errors: dict[str, list[str]] = field(default_factory=dict)


def _draft(values: dict[str, Any], mdc: Mdc | None) -> Mdc:
    """An unsaved MDC with ``values``; a secret left blank (None) keeps the stored one."""
    draft = copy.copy(mdc) if mdc is not None else Mdc()
    for name, value in values.items():
        if name not in MDC_FIELDS or (name in SECRET_FIELDS and value is None):
            continue
        setattr(draft, name, value)
    return draft


def _missing(draft: Mdc) -> dict[str, list[str]]:
    return {
        name: [f"The {FIELD_LABELS.get(name, name)} is empty: the MDC needs it to connect."]
        for name in REQUIRED.get(draft.transport, ())
        if not getattr(draft, name)
    }


def udil_error_fields(message: str, *, transport: str) -> dict[str, list[str]]:
    """The form fields an MDC's refusal or a connection failure is about."""
    found: dict[str, list[str]] = {}
    for param, problem in _PARAM_MESSAGE.findall(message):
        name = UDIL_PARAM_FIELDS.get(param)
        if name:
            label = FIELD_LABELS.get(name, name)
            problem = problem.strip()
            if problem == "is required":
                text = (
                    f"The MDC received no {label} ('{param}: {problem}'): the field is empty, "
                    "or sent where the MDC does not look for it (see 'Credentials in')."
                )
            else:
                text = f"The MDC says the {label} {problem} ('{param}: {problem}')."
            found.setdefault(name, []).append(text)
    if found:
        return found
    lowered = message.lower()
    if "username, password or code" in lowered or "http 401" in lowered:
        text = "The MDC refused these credentials; check the username, password and code."
        return {name: [text] for name in ("username", "password", "auth_code")}
    if transport == Transport.TABULAR:
        if "view" in lowered or "column" in lowered:
            return {"tabular_views": [message]}
        return {"tabular_database_url": [message]}
    if any(word in lowered for word in ("connect", "timed out", "timeout", "resolve", "refused")):
        return {"base_url": [f"The MDC could not be reached at this URL: {message}"]}
    if "http 404" in lowered:
        return {"base_url": [f"No UDIL service at this URL (HTTP 404): {message}"]}
    return {}


def mdc_test_draft(*, actor, values: dict[str, Any], mdc: Mdc | None = None) -> DraftResult:
    """Try the form's values without saving them. The draft is validated as a saved MDC would
    be (so no probe goes to an address the registry refuses) and audited as a draft test (it
    is not the MDC's health probe: the stored settings may differ)."""
    draft = _draft(values, mdc)
    try:
        draft.full_clean(validate_unique=False, exclude=["code", "name"])
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return DraftResult(False, 0, "Fix the fields marked before testing.", errors)
    if missing := _missing(draft):
        return DraftResult(False, 0, "Fill in the fields marked before testing.", missing)
    started = time.monotonic()
    try:
        message = services.transport_probe(draft)
        ok = True
    except Exception as exc:  # any failure is the answer: report it, never raise
        ok, message = False, services._describe_failure(exc)
    latency_ms = round((time.monotonic() - started) * 1000)
    message = message[:1500]
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=DRAFT_TEST_ACTION,
            target=mdc,
            summary=f"Tested unsaved settings of MDC {draft.code or '(new)'}: "
            f"{'ok' if ok else 'failed'} in {latency_ms} ms",
            detail={"ok": ok, "latency_ms": latency_ms, "message": message},
        )
    fields = {} if ok else udil_error_fields(message, transport=draft.transport)
    return DraftResult(ok, latency_ms, message, fields)
