"""Console pages: send a command (choose meters, fill the parameters, review, confirm), follow
its progress live, cancel, retry, approve; the history of all commands."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import DetailView
from django_tables2 import RequestConfig

from apps.commands import services
from apps.commands.choices import Command, Outcome, RequestState, TransactionState
from apps.commands.filters import CommandDeviceFilter, CommandRequestFilter
from apps.commands.forms import CancelForm, CommandParamsForm, DecisionForm, SelectionForm
from apps.commands.models import CommandRequest
from apps.commands.selectors import (
    meters_selected,
    request_devices,
    request_progress,
    requests_history,
)
from apps.commands.tables import CommandDeviceTable, CommandRequestTable
from apps.core.views import FilteredTableView

VIEW = "commands.view_commandrequest"


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


class CommandRequestListView(FilteredTableView):
    model = CommandRequest
    table_class = CommandRequestTable
    filterset_class = CommandRequestFilter
    permission_required = VIEW
    title = "Command history"
    create_url_name = "commands:request-new"
    create_permission = services.SEND_PERMISSION

    def get_queryset(self):
        return requests_history()


def _meter_filter_form(data):
    try:
        from apps.registry.filters import MeterFilter
    except ImportError:  # the registry's filters are not there yet
        return None
    from apps.registry.models import Meter

    return MeterFilter(data=data, queryset=Meter.objects.none()).form


class CommandNewView(PermissionRequiredMixin, View):
    """One page, four steps: ``select`` (GET), then POSTs of ``params``, ``review``, ``confirm``.

    The meter selection travels as the registry filter's query string (``selection``) or as the
    pasted ids, so every step recomputes the same set.
    """

    permission_required = services.SEND_PERMISSION
    template_name = "commands/new.html"

    def get(self, request):
        data = request.GET.copy()
        form = SelectionForm(initial={"command": data.get("command", "")})
        context = {"step": "select", "form": form, "filter_form": _meter_filter_form(data)}
        filter_data = data.copy()
        for key in ("command", "page"):
            filter_data.pop(key, None)
        if filter_data:
            context["selection"] = meters_selected(data=filter_data)
            context["selection_query"] = filter_data.urlencode()
            context["form"] = SelectionForm(
                initial={"command": data.get("command", "")},
                profiles=context["selection"].profiles,
            )
        return render(request, self.template_name, context)

    def post(self, request):
        step = request.POST.get("step", "params")
        form = SelectionForm(request.POST)
        if not form.is_valid():
            return render(
                request,
                self.template_name,
                {"step": "select", "form": form, "filter_form": _meter_filter_form(QueryDict())},
            )
        command = form.cleaned_data["command"]
        query = form.cleaned_data["selection"] or request.POST.get("filter_query", "")
        selection = meters_selected(data=QueryDict(query), pasted=form.cleaned_data["pasted"])
        context = {
            "form": form,
            "command": command,
            "command_label": Command(command).label,
            "selection": selection,
            "selection_query": query,
            "pasted": form.cleaned_data["pasted"],
        }
        params_form = CommandParamsForm(
            request.POST if step in ("review", "confirm") else None,
            command=command,
            profiles=selection.profiles,
        )
        context["params_form"] = params_form
        if step == "params" or selection.count == 0 or not params_form.is_valid():
            if step != "params" and selection.count == 0:
                messages.error(request, "No meters are selected.")
            context["step"] = "params"
            return render(request, self.template_name, context)
        wire = params_form.wire_params
        scheduled_at = params_form.cleaned_data.get("scheduled_at")
        if step == "review":
            context.update(
                step="review",
                wire_params=wire,
                scheduled_at=scheduled_at,
                needs_approval=services.two_person_needed(
                    actor=request.user, command=command, params=wire, devices=selection.count
                ),
                threshold=settings.TWO_PERSON_THRESHOLD,
            )
            return render(request, self.template_name, context)
        try:
            created = services.command_request_create(
                actor=request.user,
                command=command,
                params=params_form.raw_params(),
                meters=selection.meters,
                scheduled_at=scheduled_at,
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            context["step"] = "params"
            return render(request, self.template_name, context)
        if created.state == RequestState.AWAITING_APPROVAL:
            messages.warning(
                request,
                f"Request #{created.pk} needs a second person's approval before it is sent.",
            )
        else:
            messages.success(request, f"Request #{created.pk} created.")
        return redirect(created)


class CommandRequestDetailView(PermissionRequiredMixin, DetailView):
    """The live progress page. ``?fragment=devices`` returns only the device table (the page's
    script refreshes it)."""

    model = CommandRequest
    permission_required = VIEW
    template_name = "commands/detail.html"
    context_object_name = "command_request"

    def get_template_names(self):
        if self.request.GET.get("fragment") == "devices":
            return ["commands/_devices.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = self.object
        query = self.request.GET.copy()
        query.pop("fragment", None)
        device_filter = CommandDeviceFilter(data=query, queryset=request_devices(obj))
        table = CommandDeviceTable(device_filter.qs)
        RequestConfig(self.request, paginate={"per_page": 50}).configure(table)
        user = self.request.user
        progress = request_progress(obj)
        context.update(
            title=f"Command #{obj.pk}",
            progress=progress,
            device_filter=device_filter,
            table=table,
            table_query=query.urlencode(),
            outcome_rows=[
                (o.value, o.label, Outcome.colour_of(o.value), progress.by_outcome[o.value])
                for o in Outcome
            ],
            RequestState=RequestState,
            TransactionState=TransactionState,
            can_cancel=user.has_perm(services.CANCEL_PERMISSION) and not obj.is_cancel,
            can_retry=user.has_perm(services.SEND_PERMISSION) and not obj.is_cancel,
            can_approve=user.has_perm(services.APPROVE_PERMISSION)
            and obj.state == RequestState.AWAITING_APPROVAL
            and obj.requested_by_id != user.pk,
            transactions=obj.transactions.select_related("mdc", "target")[:200],
            children=obj.children.all()[:50],
            cancel_form=CancelForm(),
            decision_form=DecisionForm(),
        )
        return context


class CommandProgressJsonView(PermissionRequiredMixin, View):
    permission_required = VIEW

    def get(self, request, pk):
        obj = get_object_or_404(CommandRequest, pk=pk)
        return JsonResponse(request_progress(obj).as_dict())


class _ActionView(PermissionRequiredMixin, View):
    """POST-only action on a request; the service decides, the page shows its message."""

    def act(self, request, obj):  # pragma: no cover - overridden
        raise NotImplementedError

    def post(self, request, pk):
        obj = get_object_or_404(CommandRequest, pk=pk)
        try:
            target = self.act(request, obj)
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            target = obj
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            target = obj
        return redirect(target)


class CommandCancelView(_ActionView):
    permission_required = services.CANCEL_PERMISSION

    def act(self, request, obj):
        form = CancelForm(request.POST)
        form.is_valid()
        from apps.commands.selectors import pasted_ids

        devices = pasted_ids(form.cleaned_data.get("devices", "")) or None
        result = services.command_cancel(actor=request.user, request=obj, devices=devices)
        text = (
            f"{result.cancelled_locally} cancelled before sending, "
            f"{result.sent} cancel requests sent to the MDCs."
        )
        if result.not_cancellable:
            shown = ", ".join(f"{g} ({why})" for g, why in result.not_cancellable[:10])
            more = len(result.not_cancellable) - 10
            text += f" Not cancellable: {shown}" + (f" and {more} more" if more > 0 else "")
            messages.warning(request, text)
        else:
            messages.success(request, text)
        return obj


class CommandRetryView(_ActionView):
    permission_required = services.SEND_PERMISSION

    def act(self, request, obj):
        result = services.command_retry_failed(actor=request.user, request=obj)
        retry = result.request
        messages.success(request, f"Request #{retry.pk} retries {retry.device_count} devices.")
        if result.left_out:
            shown = "; ".join(f"{g}: {why}" for g, why in result.left_out[:10])
            more = len(result.left_out) - 10
            messages.warning(
                request,
                f"Left out {len(result.left_out)} devices that cannot succeed: {shown}"
                + (f" and {more} more" if more > 0 else ""),
            )
        return retry


class CommandApproveView(_ActionView):
    permission_required = services.APPROVE_PERMISSION

    def act(self, request, obj):
        form = DecisionForm(request.POST)
        form.is_valid()
        note = form.cleaned_data.get("note", "")
        if "reject" in request.POST:
            services.command_request_reject(actor=request.user, request=obj, note=note)
            messages.info(request, f"Request #{obj.pk} rejected.")
        else:
            services.command_request_approve(actor=request.user, request=obj, note=note)
            messages.success(request, f"Request #{obj.pk} approved.")
        return obj
