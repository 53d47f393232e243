"""Report pages: the kept reports with their progress, a form to run one, and downloads."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from apps.analytics.choices import ReportFormat, ReportState
from apps.analytics.forms import ReportForm
from apps.analytics.models import Report
from apps.analytics.services.reports import report_request
from apps.analytics.tables import ReportTable
from apps.analytics.views import PAGES

REPORT_VIEW_PERMISSION = "analytics.view_report"
REPORT_ADD_PERMISSION = "analytics.add_report"


class ReportsView(PermissionRequiredMixin, TemplateView):
    permission_required = REPORT_VIEW_PERMISSION
    template_name = "analytics/reports.html"

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        table = ReportTable(Report.objects.select_related("requested_by").defer(
            "csv_data", "pdf_data"))  # fmt: skip
        RequestConfig(self.request, paginate={"per_page": 50}).configure(table)
        running = Report.objects.filter(state__in=[ReportState.QUEUED, ReportState.RUNNING])
        context.update(
            title="Reports",
            analytics_pages=PAGES,
            table=table,
            form=form or ReportForm(),
            can_run=self.request.user.has_perm(REPORT_ADD_PERMISSION),
            refresh=running.exists(),
        )
        return context

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm(REPORT_ADD_PERMISSION):
            raise PermissionDenied
        form = ReportForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.cleaned_data
        try:
            report = report_request(actor=request.user, kind=data["kind"], start=data["start"],
                                    end=data["end"], level=data["level"])  # fmt: skip
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, f"Report #{report.pk} queued; it is listed below.")
        return redirect("analytics:reports")


class ReportDownloadView(PermissionRequiredMixin, View):
    permission_required = REPORT_VIEW_PERMISSION

    def get(self, request, pk: int, fmt: str):
        if fmt not in ReportFormat.values:
            raise Http404("Reports are CSV or PDF.")
        report = get_object_or_404(Report, pk=pk)
        data = bytes(report.csv_data if fmt == ReportFormat.CSV else report.pdf_data)
        if report.state != ReportState.DONE or not data:
            raise Http404("The report is not ready.")
        kind = "text/csv; charset=utf-8" if fmt == ReportFormat.CSV else "application/pdf"
        response = HttpResponse(data, content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="{report.file_name(fmt)}"'
        return response
