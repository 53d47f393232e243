"""Pages: the work-order list (filters, overdue rows, bulk start of CP6/CP13), an order with
its steps and the actions its current step allows, and the consumer page."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from apps.core.views import FilteredTableView
from apps.workflows import services
from apps.workflows.choices import StepKind, StepState, WorkOrderState
from apps.workflows.filters import WorkOrderFilter
from apps.workflows.models import WorkOrder
from apps.workflows.procedures import BULK_PROCEDURES, PROCEDURES
from apps.workflows.selectors import (
    billable_cycles,
    consumer_history,
    consumers_for_bulk,
    is_overdue,
    order_steps,
    work_orders,
)
from apps.workflows.tables import WorkOrderTable

VIEW = "workflows.view_workorder"


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


class WorkOrderListView(FilteredTableView):
    model = WorkOrder
    table_class = WorkOrderTable
    filterset_class = WorkOrderFilter
    permission_required = VIEW
    title = "Work orders"
    template_name = "workflows/list.html"

    def get_queryset(self):
        return work_orders()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["bulk_procedures"] = [(p, PROCEDURES[p].label) for p in BULK_PROCEDURES]
        context["billable_cycles"] = billable_cycles()
        return context


def _options(request, procedure: str) -> dict:
    """The procedure's options ticked on the form (a checkbox named after each)."""
    defn = PROCEDURES.get(procedure)
    return {key: True for key, _ in (defn.options if defn else ()) if request.POST.get(key)}


class WorkOrderCycleStartView(PermissionRequiredMixin, View):
    """CP10: bill a reading cycle (the service checks the Revenue Office's permission)."""

    permission_required = VIEW

    def post(self, request):
        from apps.billing.models import ReadingCycle

        cycle_id = request.POST.get("cycle", "")
        cycle = None
        if cycle_id.isascii() and cycle_id.isdigit() and len(cycle_id) < 18:
            cycle = ReadingCycle.objects.filter(pk=int(cycle_id)).first()
        if cycle is None:
            messages.error(request, "Choose a reading cycle.")
            return redirect("workflows:order-list")
        try:
            order = services.work_order_start(
                actor=request.user,
                procedure="cp10",
                cycle=cycle,
                note=request.POST.get("note", "")[:500],
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
            return redirect("workflows:order-list")
        messages.success(request, f"Started work order #{order.pk}.")
        return redirect(order.get_absolute_url())


class WorkOrderBulkStartView(PermissionRequiredMixin, View):
    permission_required = VIEW

    def post(self, request):
        procedure = request.POST.get("procedure", "")
        as_of_text = request.POST.get("defaulters_as_of", "").strip()
        try:
            as_of = dt.date.fromisoformat(as_of_text) if as_of_text else None
        except ValueError:
            messages.error(request, f"Defaulters as of {as_of_text!r}: use YYYY-MM-DD.")
            return redirect("workflows:order-list")
        subdivision = request.POST.get("subdivision_code", "").strip()
        refs = request.POST.get("consumers", "").split()
        if not (as_of or subdivision or refs):
            messages.error(request, "Choose consumers, a subdivision or a defaulters' date.")
            return redirect("workflows:order-list")
        consumers, missing = consumers_for_bulk(
            references=refs, defaulters_as_of=as_of, subdivision_code=subdivision
        )
        if missing:
            messages.error(request, f"Unknown consumers: {', '.join(missing[:10])}")
            return redirect("workflows:order-list")
        try:
            result = services.work_orders_bulk_start(
                actor=request.user,
                procedure=procedure,
                consumers=consumers,
                options=_options(request, procedure),
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
            return redirect("workflows:order-list")
        messages.success(
            request, f"{len(result['started'])} started, {len(result['refused'])} not started."
        )
        for ref, why in result["refused"][:10]:
            messages.warning(request, f"{ref}: {why}")
        return redirect("workflows:order-list")


class WorkOrderDetailView(PermissionRequiredMixin, View):
    permission_required = VIEW

    def get(self, request, pk):
        order = get_object_or_404(work_orders(), pk=pk)
        steps = list(order_steps(order))
        current = next(
            (s for s in steps if s.state not in (StepState.DONE, StepState.SKIPPED)), None
        )
        return render(
            request,
            "workflows/detail.html",
            {
                "order": order,
                "steps": steps,
                "current": current,
                "overdue": is_overdue(order),
                "can_approve": current is not None
                and current.kind == StepKind.APPROVAL
                and current.state == StepState.READY,
                "can_perform": current is not None
                and (
                    (current.kind == StepKind.MANUAL and current.state == StepState.READY)
                    or order.state == WorkOrderState.STOPPED
                ),
                "is_open": order.state not in (WorkOrderState.COMPLETED, WorkOrderState.CANCELLED),
                "WorkOrderState": WorkOrderState,
                "StepState": StepState,
            },
        )


class WorkOrderActionView(PermissionRequiredMixin, View):
    permission_required = VIEW
    actions = {
        "approve": services.work_order_step_approve,
        "perform": services.work_order_step_perform,
        "cancel": services.work_order_cancel,
    }

    def post(self, request, pk, action):
        if action not in self.actions:
            raise Http404(f"No action {action!r} on work orders.")
        order = get_object_or_404(WorkOrder, pk=pk)
        kwargs = {"actor": request.user, "order": order}
        if action == "cancel":
            kwargs["reason"] = request.POST.get("reason", "")[:500]
        else:
            kwargs["note"] = request.POST.get("note", "")[:500]
        try:
            self.actions[action](**kwargs)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, f"Work order #{order.pk}: {action} done.")
        return redirect(order.get_absolute_url())


class ConsumerView(PermissionRequiredMixin, View):
    """A consumer: meters, work orders with their steps, readings, events, the billing mirror,
    and the CPs that can be started."""

    permission_required = ("registry.view_consumer", VIEW)

    def get(self, request, pk):
        from apps.registry.models import Consumer

        consumer = get_object_or_404(Consumer, pk=pk)
        context = consumer_history(consumer)
        startable = [
            (code, p.label)
            for code, p in PROCEDURES.items()
            if not p.needs_cycle and request.user.has_perm(p.start_permission)
        ]
        return render(
            request,
            "workflows/consumer.html",
            {
                **context,
                "consumer": consumer,
                "startable": startable,
                "WorkOrderState": WorkOrderState,
                "StepState": StepState,
            },
        )

    def post(self, request, pk):
        from apps.registry.models import Consumer, Meter

        consumer = get_object_or_404(Consumer, pk=pk)
        meter_id = request.POST.get("meter", "")
        meter = None
        if meter_id.isascii() and meter_id.isdigit() and len(meter_id) < 18:
            meter = Meter.objects.filter(pk=int(meter_id)).first()
        new_gdid = request.POST.get("new_meter", "").strip()
        new_meter = Meter.objects.filter(global_device_id=new_gdid).first() if new_gdid else None
        if new_gdid and new_meter is None:
            messages.error(request, f"No registered meter {new_gdid[:50]!r}.")
            return redirect("workflows:consumer", pk=consumer.pk)
        procedure = request.POST.get("procedure", "")
        try:
            order = services.work_order_start(
                actor=request.user,
                procedure=procedure,
                consumer=consumer,
                meter=meter,
                new_meter=new_meter,
                options=_options(request, procedure),
                note=request.POST.get("note", "")[:500],
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
            return redirect("workflows:consumer", pk=consumer.pk)
        messages.success(request, f"Started work order #{order.pk}.")
        return redirect(order.get_absolute_url())
