"""Billing pages: runs (start, progress, review, re-run, approve, supplementary, export),
reading cycles, billing accounts, tariffs, the mirror (import, comparison, defaulters).
Every role sees; Revenue Officers act (apps.billing.roles)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import DetailView, TemplateView

from apps.billing import filters, tables
from apps.billing.charts import units_by_band_chart, units_by_feeder_chart
from apps.billing.choices import ComparisonBand, ExportFormat, RunStatus
from apps.billing.forms import (
    BillingAccountForm,
    MirrorImportForm,
    ReadingCycleForm,
    RunStartForm,
)
from apps.billing.models import BillingAccount, BillingRun, MirrorBill, ReadingCycle, Tariff
from apps.billing.roles import APPROVE_PERMISSION, RUN_PERMISSION
from apps.billing.selectors import (
    comparison_by_feeder,
    comparison_rows,
    defaulters,
    determinants_of,
    run_totals,
    run_units_by_feeder,
    runs_list,
)
from apps.billing.services import BillingRefused
from apps.billing.services.attributes import account_save, cycle_create
from apps.billing.services.exports import drop_file_name, run_export
from apps.billing.services.mirror import MirrorImportInvalid, mirror_import_csv
from apps.billing.services.runs import (
    run_approve,
    run_rerun,
    run_start,
    run_supplementary_start,
)
from apps.core.views import FilteredTableView

VIEW_RUN = "billing.view_billingrun"


def _month_param(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(f"{text.strip()[:7]}-01") if text else None
    except ValueError:
        return None


# --- runs ----------------------------------------------------------------------------------------


class RunListView(FilteredTableView):
    model = BillingRun
    table_class = tables.BillingRunTable
    filterset_class = filters.BillingRunFilter
    permission_required = VIEW_RUN
    title = "Billing runs"
    create_url_name = "billing:run-new"
    create_permission = RUN_PERMISSION

    def get_queryset(self):
        return runs_list()


class RunStartView(PermissionRequiredMixin, View):
    permission_required = RUN_PERMISSION

    def get(self, request):
        form = RunStartForm(initial={"cycle": request.GET.get("cycle")})
        return render(request, "billing/form.html", {"form": form, "title": "Start a run"})

    def post(self, request):
        form = RunStartForm(request.POST)
        if form.is_valid():
            try:
                run = run_start(cycle=form.cleaned_data["cycle"], actor=request.user)
            except BillingRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, f"{run} queued.")
                return redirect(run)
        return render(request, "billing/form.html", {"form": form, "title": "Start a run"})


class RunDetailView(PermissionRequiredMixin, DetailView):
    model = BillingRun
    permission_required = VIEW_RUN
    template_name = "billing/run_detail.html"
    context_object_name = "run"

    def get_queryset(self):
        return runs_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run, user = self.object, self.request.user
        totals = run_totals(run)
        context.update(
            title=f"Billing {run}",
            totals=totals,
            band_chart=units_by_band_chart(totals),
            feeder_chart=units_by_feeder_chart(run_units_by_feeder(run)),
            can_run=user.has_perm(RUN_PERMISSION),
            can_approve=user.has_perm(APPROVE_PERMISSION) and run.status == RunStatus.READY,
            busy=run.status in (RunStatus.QUEUED, RunStatus.RUNNING),
            exports=run.exports.select_related("actor")[:20],
            formats=[ExportFormat.CSV, ExportFormat.FIXED],
            RunStatus=RunStatus,
        )
        return context


class RunProgressView(PermissionRequiredMixin, View):
    permission_required = VIEW_RUN

    def get(self, request, pk):
        run = get_object_or_404(BillingRun, pk=pk)
        return JsonResponse(
            {
                "status": run.status,
                "status_label": run.get_status_display(),
                "done": run.consumers_done,
                "total": run.consumers_total,
                "percent": run.progress_percent,
                "final": run.status not in (RunStatus.QUEUED, RunStatus.RUNNING),
                "error": run.error,
            }
        )


class RunDeterminantsView(FilteredTableView):
    table_class = tables.DeterminantTable
    filterset_class = filters.DeterminantFilter
    permission_required = VIEW_RUN

    @cached_property
    def run(self) -> BillingRun:
        # looked up after the permission check (dispatch), so a refused caller learns nothing
        return get_object_or_404(BillingRun, pk=self.kwargs["pk"])

    def get_queryset(self):
        self.title = f"Determinants of {self.run}"
        return determinants_of(self.run)


class _RunAction(PermissionRequiredMixin, View):
    """POST only: one service on one run, refusals shown as messages."""

    def action(self, run: BillingRun, user) -> BillingRun:
        raise NotImplementedError

    def post(self, request, pk):
        run = get_object_or_404(BillingRun, pk=pk)
        try:
            result = self.action(run, request.user)
        except BillingRefused as refused:
            messages.error(request, str(refused))
            return redirect(run)
        messages.success(request, f"{result}: {result.get_status_display().lower()}.")
        return redirect(result)


class RunRerunView(_RunAction):
    permission_required = RUN_PERMISSION

    def action(self, run, user):
        return run_rerun(run=run, actor=user)


class RunApproveView(_RunAction):
    permission_required = APPROVE_PERMISSION

    def action(self, run, user):
        return run_approve(run=run, actor=user)


class RunSupplementaryView(_RunAction):
    permission_required = RUN_PERMISSION

    def action(self, run, user):
        return run_supplementary_start(run=run, actor=user)


class RunExportView(PermissionRequiredMixin, View):
    """Download an export of a locked run (recorded with its SHA-256, sent as a header)."""

    permission_required = VIEW_RUN

    def get(self, request, pk, export_format):
        run = get_object_or_404(BillingRun.objects.select_related("cycle"), pk=pk)
        try:
            path, record = run_export(run=run, export_format=export_format, actor=request.user)
        except BillingRefused as refused:
            messages.error(request, str(refused))
            return redirect(run)
        handle = path.open("rb")
        path.unlink()  # the open handle keeps the bytes until the response is sent
        response = FileResponse(
            handle, as_attachment=True, filename=drop_file_name(run, export_format)
        )
        response["X-Content-SHA256"] = record.sha256
        return response


# --- cycles, accounts, tariffs ---------------------------------------------------------------


class CycleListView(FilteredTableView):
    model = ReadingCycle
    table_class = tables.ReadingCycleTable
    filterset_class = filters.ReadingCycleFilter
    permission_required = "billing.view_readingcycle"
    title = "Reading cycles"
    create_url_name = "billing:cycle-new"
    create_permission = "billing.add_readingcycle"


class CycleNewView(PermissionRequiredMixin, View):
    permission_required = "billing.add_readingcycle"

    def get(self, request):
        return render(
            request, "billing/form.html", {"form": ReadingCycleForm(), "title": "New cycle"}
        )

    def post(self, request):
        form = ReadingCycleForm(request.POST)
        if form.is_valid():
            try:
                cycle_create(actor=request.user, **form.cleaned_data)
            except BillingRefused as refused:
                form.add_error(None, str(refused))
            else:
                return redirect("billing:cycle-list")
        return render(request, "billing/form.html", {"form": form, "title": "New cycle"})


class AccountListView(FilteredTableView):
    model = BillingAccount
    table_class = tables.BillingAccountTable
    filterset_class = filters.BillingAccountFilter
    permission_required = "billing.view_billingaccount"
    title = "Billing accounts"
    create_url_name = "billing:account-new"
    create_permission = "billing.add_billingaccount"

    def get_queryset(self):
        return BillingAccount.objects.select_related("consumer", "tariff")


class AccountEditView(PermissionRequiredMixin, View):
    """Create (no pk) or change a billing account."""

    def get_permission_required(self):
        return ["billing.change_billingaccount" if self.kwargs.get("pk") else
                "billing.add_billingaccount"]  # fmt: skip

    def _render(self, request, form):
        return render(request, "billing/form.html", {"form": form, "title": "Billing account"})

    def _instance(self, pk):
        return get_object_or_404(BillingAccount, pk=pk) if pk else None

    def get(self, request, pk=None):
        account = self._instance(pk)
        factor = None
        if account is not None:
            meter = account.consumer.meters.select_related("billing_factor").first()
            factor = getattr(getattr(meter, "billing_factor", None), "multiplying_factor", None)
        form = BillingAccountForm(instance=account, initial={"multiplying_factor": factor or 1})
        return self._render(request, form)

    def post(self, request, pk=None):
        form = BillingAccountForm(request.POST, instance=self._instance(pk))
        if not form.is_valid():
            return self._render(request, form)
        account_save(actor=request.user, **form.cleaned_data)
        messages.success(request, "Billing account saved.")
        return redirect("billing:account-list")


class TariffListView(FilteredTableView):
    model = Tariff
    table_class = tables.TariffTable
    filterset_class = filters.TariffFilter
    permission_required = "billing.view_tariff"
    title = "Tariffs (edited in the administration)"

    def get_queryset(self):
        return Tariff.objects.prefetch_related("band_maps")


# --- the mirror --------------------------------------------------------------------------------


class MirrorImportView(PermissionRequiredMixin, View):
    permission_required = "billing.add_mirrorbill"
    template = "billing/mirror_import.html"

    def get(self, request):
        return render(request, self.template, {"form": MirrorImportForm(), "title": "Import"})

    def post(self, request):
        form = MirrorImportForm(request.POST, request.FILES)
        context = {"form": form, "title": "Import billing data"}
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = mirror_import_csv(
                    data=upload.read(), actor=request.user, source=upload.name
                )
            except MirrorImportInvalid as invalid:
                context["errors"] = invalid.errors
                return render(request, self.template, context, status=400)
            messages.success(
                request, f"Imported {result.bills} bills and {result.payments} payments."
            )
            return redirect("billing:comparison")
        return render(request, self.template, context, status=400)


class ComparisonView(PermissionRequiredMixin, TemplateView):
    permission_required = "billing.view_mirrorbill"
    template_name = "billing/comparison.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        text = self.request.GET.get("month")
        month = _month_param(text) or timezone.localdate().replace(day=1)
        if text and _month_param(text) is None:
            messages.error(self.request, f"{text[:20]!r} is not a month (YYYY-MM).")
        rows = comparison_rows(month=month)
        band = self.request.GET.get("band")
        context.update(
            title=f"MDM units vs billed units, {month:%Y-%m}",
            month=month,
            feeders=comparison_by_feeder(rows),
            rows=[r for r in rows if not band or r.band == band][:1000],
            bands=ComparisonBand.choices,
            band=band,
            ComparisonBand=ComparisonBand,
        )
        return context


class DefaultersView(FilteredTableView):
    model = MirrorBill
    table_class = tables.MirrorBillTable
    filterset_class = filters.MirrorBillFilter
    permission_required = "billing.view_mirrorbill"
    title = "Defaulters"

    def get_queryset(self):
        as_of = None
        if text := self.request.GET.get("as_of"):
            try:
                as_of = dt.date.fromisoformat(text)
            except ValueError:
                messages.error(self.request, f"{text[:20]!r} is not a date (YYYY-MM-DD).")
        return defaulters(as_of=as_of or timezone.localdate())
