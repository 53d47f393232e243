"""HTTP: the UDIL services of each simulated MDC (machine to machine), and the admin pages.

``POST /sim/<code>/<service>`` for every service of the MDC's UDIL profile (2019: NOTES.md
"The wire"; 3.3: its renamed and new services, apps.udil.catalog_v33). These endpoints
authenticate with the UDIL private key, not a Django login, so they are exempt from the login
and CSRF middleware. Views are thin: they decode, call :mod:`apps.simulator.services`, encode.
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import FormView

from apps.core.views import FilteredTableView
from apps.simulator import clock, wire
from apps.simulator.filters import SimMdcFilter
from apps.simulator.forms import FaultsForm
from apps.simulator.models import CredentialsIn, SimMdc
from apps.simulator.services import (
    MAX_LATENCY_MS,
    SimError,
    sim_authorize,
    sim_command_submit,
    sim_faults_update,
    sim_key_check,
    sim_read,
    sim_transaction_cancel,
    sim_transaction_status,
)
from apps.simulator.tables import SimMdcTable
from apps.udil.codec import decode_request
from apps.udil.errors import ValidationErrors
from apps.udil.profiles import get_profile


def _respond(mdc: SimMdc | None, status: int, encoded: tuple[bytes, str]) -> HttpResponse:
    body, content_type = encoded
    if mdc is not None and status == 200:
        body = wire.corrupt(mdc, body)
    return HttpResponse(body, status=status, content_type=content_type)


def _error(mdc: SimMdc | None, status: int, message: str, tid: str | None = None):
    return _respond(mdc, status, wire.error_body(mdc, message, tid))


def _faults(mdc: SimMdc) -> HttpResponse | None:
    """Injected latency and 500s, only for authenticated callers: an anonymous request must
    not be able to hold a web thread for ``latency_ms`` (the value is bounded too)."""
    if mdc.latency_ms:
        time.sleep(min(mdc.latency_ms, MAX_LATENCY_MS) / 1000)
    if wire.should_fail(mdc):
        return HttpResponse(b"Internal Server Error", status=500, content_type="text/plain")
    return None


@csrf_exempt
@login_not_required
def service_view(request: HttpRequest, code: str, service: str) -> HttpResponse:
    mdc = SimMdc.objects.filter(code=code).first()
    if mdc is None:
        return _error(None, 404, f"no simulated MDC '{code}'")
    profile = get_profile(mdc.udil_profile)
    svc = profile.services.get(service.lower())
    if svc is None:
        return _error(mdc, 404, f"unknown service '{service}' (UDIL {profile.name})")
    if request.method != "POST":
        return _error(mdc, 405, f"{svc.name} takes POST")
    now = clock.now()
    headers = {k.lower(): v for k, v in request.headers.items()}
    form = {k: request.POST.getlist(k) for k in request.POST}
    tid = headers.get("transactionid")
    try:
        if svc.kind == "auth":
            try:
                params, _, _ = decode_request(
                    svc,
                    headers if mdc.credentials_in != CredentialsIn.FORM else {},
                    form if mdc.credentials_in != CredentialsIn.HEADERS else {},
                )
            except ValidationErrors as exc:
                raise SimError(401, str(exc)) from None
            key = sim_authorize(
                mdc=mdc,
                username=params["username"],
                password=params["password"],
                code=params["code"],
                now=now,
            )
            if faulted := _faults(mdc):
                return faulted
            minutes = mdc.key_lifetime_seconds // 60
            return _respond(
                mdc,
                200,
                wire.payload_body(
                    mdc,
                    {
                        "status": "1",
                        "privatekey": key.key,
                        "message": "You are authenticated successfully. Private key will be "
                        f"valid for {minutes} Minutes",
                    },
                ),
            )
        key = headers.get("privatekey") or (form.get("privatekey") or [None])[-1]
        sim_key_check(mdc=mdc, key=key.strip() if key else None, now=now)
        if faulted := _faults(mdc):
            return faulted
        wire.strict_datetimes(svc, form)
        params, tid, _ = decode_request(svc, headers, form)
        if svc.kind in ("write", "on_demand"):
            payload = sim_command_submit(
                mdc=mdc,
                service=profile.common_name(svc.name),
                params=params,
                transactionid=tid,
                now=now,
                wire_name=svc.name,
            )
        elif svc.kind == "status":
            payload = sim_transaction_status(
                mdc=mdc, transactionids=params["transactionid"], now=now
            )
        elif svc.kind == "cancel":
            payload = sim_transaction_cancel(
                mdc=mdc, transactionid=tid, global_device_ids=params["global_device_id"], now=now
            )
        else:
            fields, rows, message = sim_read(
                mdc=mdc,
                dataset=svc.dataset.code,
                global_device_ids=params["global_device_id"],
                start=params["start_datetime"],
                end=params["end_datetime"],
                now=now,
            )
            return _respond(mdc, 200, wire.rows_body(mdc, fields, rows, message))
    except ValidationErrors as exc:
        return _error(mdc, 400, str(exc), tid)
    except SimError as exc:
        return _error(mdc, exc.http_status, exc.message, tid)
    return _respond(mdc, 200, wire.payload_body(mdc, payload))


class SimMdcListView(FilteredTableView):
    model = SimMdc
    table_class = SimMdcTable
    filterset_class = SimMdcFilter
    permission_required = "simulator.view_simmdc"
    title = "Simulated MDCs"


class FaultsView(PermissionRequiredMixin, FormView):
    """Administrators change an MDC's fault injection at run time."""

    permission_required = "simulator.change_simmdc"
    form_class = FaultsForm
    template_name = "simulator/faults.html"

    def dispatch(self, request, *args, **kwargs):
        # the permission first: whether an MDC code exists is not for everyone to find out
        if not self.has_permission():
            return self.handle_no_permission()
        self.mdc = get_object_or_404(SimMdc, code=kwargs["code"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.mdc}

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "mdc": self.mdc,
            "title": f"Faults of {self.mdc.code}",
        }

    def form_valid(self, form):
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        # the form validated a copy; the service saves (and audits) the change
        mdc = SimMdc.objects.get(pk=self.mdc.pk)
        if changes:
            try:
                sim_faults_update(mdc=mdc, actor=self.request.user, **changes)
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
                return self.form_invalid(form)
            messages.success(self.request, f"Fault settings of {mdc.code} saved.")
        return redirect("simulator:mdc-list")
