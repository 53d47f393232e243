"""Pages of the conformance bench: runs, starting one from an MDC (with the warning that its
commands are real), a run's report with progress and evidence, its printable view, and the
comparison of two runs. Logic lives in services and selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import DetailView, ListView

from apps.conformance import services
from apps.conformance.choices import FINAL_RUN_STATES, CheckOutcome, RunState
from apps.conformance.filters import RunFilter
from apps.conformance.forms import RunForm
from apps.conformance.models import ConformanceRun
from apps.conformance.report import run_pdf
from apps.conformance.selectors import runs_diff

VIEW = "conformance.view_conformancerun"


class RunListView(PermissionRequiredMixin, ListView):
    permission_required = VIEW
    template_name = "conformance/run_list.html"
    paginate_by = 50

    def get_queryset(self):
        runs = ConformanceRun.objects.select_related("mdc", "created_by")
        self.filterset = RunFilter(self.request.GET or None, queryset=runs)
        # a filter that does not parse lists nothing (its error is shown), never every run
        return self.filterset.qs if self.filterset.is_valid() else runs.none()

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title="Conformance runs", RunState=RunState, filter=self.filterset, **kwargs
        )


class RunCreateView(PermissionRequiredMixin, View):
    permission_required = services.RUN_PERMISSION
    template_name = "conformance/run_create.html"

    def _mdc(self, mdc_pk):
        from apps.registry.models import Mdc

        return get_object_or_404(Mdc, pk=mdc_pk)

    def _render(self, request, mdc, form, status=200):
        return render(
            request,
            self.template_name,
            {"title": f"Conformance run of {mdc.code}", "mdc": mdc, "form": form},
            status=status,
        )

    def get(self, request, mdc_pk):
        mdc = self._mdc(mdc_pk)
        return self._render(request, mdc, RunForm(mdc=mdc, profile=services._profile(mdc)))

    def post(self, request, mdc_pk):
        mdc = self._mdc(mdc_pk)
        form = RunForm(request.POST, mdc=mdc, profile=services._profile(mdc))
        if not form.is_valid():
            return self._render(request, mdc, form, status=400)
        try:
            run = services.conformance_run_create(
                actor=request.user,
                mdc=mdc,
                device_ids=form.cleaned_data["device_ids"],
                commands=form.cleaned_data["commands"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
            return self._render(request, mdc, form, status=400)
        except PermissionDenied:
            raise
        messages.success(request, "Conformance run queued: it runs in the background.")
        return redirect(run)


class RunDetailView(PermissionRequiredMixin, DetailView):
    permission_required = VIEW
    model = ConformanceRun
    template_name = "conformance/run_detail.html"
    context_object_name = "run"

    def get_queryset(self):
        return ConformanceRun.objects.select_related("mdc", "created_by")

    def get_context_data(self, **kwargs):
        run = self.object
        others = ConformanceRun.objects.filter(mdc=run.mdc).exclude(pk=run.pk).order_by("-pk")[:20]
        return super().get_context_data(
            title=f"Conformance run {run.pk}",
            checks=run.checks.order_by("position"),
            final=run.state in FINAL_RUN_STATES,
            others=others,
            RunState=RunState,
            CheckOutcome=CheckOutcome,
            **kwargs,
        )


class RunPrintView(RunDetailView):
    """The report on its own, laid out for the browser's print (or "save as PDF")."""

    template_name = "conformance/run_print.html"


class RunPdfView(PermissionRequiredMixin, View):
    """The report as a PDF file (built from the kept run: the same checks and evidence)."""

    permission_required = VIEW

    def get(self, request, pk):
        run = get_object_or_404(ConformanceRun.objects.select_related("mdc", "created_by"), pk=pk)
        response = HttpResponse(run_pdf(run), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="conformance-run-{run.pk}-{run.mdc.code}.pdf"'
        )
        return response


class RunDiffView(PermissionRequiredMixin, View):
    permission_required = VIEW

    def get(self, request):
        ids = [request.GET.get("before", ""), request.GET.get("after", "")]
        if not all(i.isascii() and i.isdigit() for i in ids):
            return render(
                request,
                "conformance/run_diff.html",
                {"title": "Compare conformance runs", "error": "Pick two runs to compare."},
                status=400,
            )
        before, after = (get_object_or_404(ConformanceRun, pk=int(i)) for i in ids)
        if before.pk == after.pk:
            raise Http404("Pick two different runs.")
        rows = runs_diff(before, after)
        return render(
            request,
            "conformance/run_diff.html",
            {
                "title": f"Conformance runs {before.pk} and {after.pk}",
                "before": before,
                "after": after,
                "rows": rows,
                "changed": [r for r in rows if r.changed],
                "CheckOutcome": CheckOutcome,
            },
        )
