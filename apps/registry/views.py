"""Pages. Each view checks a permission, validates input with a form and calls a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView

from apps.core.panels import sections_render
from apps.core.views import FilteredTableView
from apps.registry import connection, filters, selectors, services, tables
from apps.registry.choices import ActivationStatus, ConnectionStatus, Dataset, RelayState
from apps.registry.detail import consumer_url
from apps.registry.field_lists import SECRET_FIELDS
from apps.registry.forms import (
    ConsumerForm,
    MdcForm,
    MeterForm,
    MeterImportForm,
    NodeForm,
    table_choices,
)
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


def form_errors_from(form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form, on the field at fault where there is one."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class ServiceFormView(PermissionRequiredMixin, FormView):
    """A form page whose valid form goes to ``call_service``; service errors go on the form."""

    template_name = "registry/form.html"
    title = ""
    cancel_url = ""

    def call_service(self, form):
        raise NotImplementedError

    def load(self, **kwargs) -> None:
        """Look up what the page is about (runs after the permission check)."""

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.load(**kwargs)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            self.object = self.call_service(form)
        except ValidationError as exc:
            form_errors_from(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Saved {self.object}.")
        return redirect(self.get_success_url())

    def get_success_url(self) -> str:
        return self.object.get_absolute_url()

    def get_context_data(self, **kwargs):
        return super().get_context_data(title=self.title, cancel_url=self.cancel_url, **kwargs)


# --- MDCs --------------------------------------------------------------------------------------


class MdcListView(FilteredTableView):
    model = Mdc
    table_class = tables.MdcTable
    filterset_class = filters.MdcFilter
    permission_required = "registry.view_mdc"
    title = "MDCs"
    create_url_name = "registry:mdc-create"
    create_permission = "registry.add_mdc"

    def get_queryset(self):
        return Mdc.objects.annotate(meter_count=Count("meters")).order_by("code")


class MdcDetailView(PermissionRequiredMixin, DetailView):
    model = Mdc
    permission_required = "registry.view_mdc"
    template_name = "registry/mdc_detail.html"

    def get_context_data(self, **kwargs):
        mdc = self.object
        counts = mdc.meters.values("activation_status").annotate(n=Count("pk"))
        by_status = {row["activation_status"]: row["n"] for row in counts}
        return super().get_context_data(
            title=f"MDC {mdc.code}",
            secrets=[
                ("Password", bool(mdc.password)),
                ("Authorization code", bool(mdc.auth_code)),
                ("Tabular database URL", bool(mdc.tabular_database_url)),
            ],
            meters_active=by_status.get(ActivationStatus.ACTIVE, 0),
            meters_inactive=by_status.get(ActivationStatus.INACTIVE, 0),
            sections=sections_render(self.request, mdc),
            settings_rows=_mdc_settings_rows(mdc),
            **kwargs,
        )


def _mdc_settings_rows(mdc: Mdc) -> list[tuple[str, list[tuple[str, str]]]]:
    """The MDC's JSON settings as labelled rows: (title, [(label, value)])."""
    datasets = dict(Dataset.choices)
    tables = dict(table_choices())

    def rows(value: dict, labels: dict, template: str) -> list[tuple[str, str]]:
        items = sorted((value or {}).items(), key=lambda item: str(labels.get(item[0], item[0])))
        return [(str(labels.get(key, key)), template.format(val)) for key, val in items]

    return [
        ("Window per request", rows(mdc.window_minutes, datasets, "{} min")),
        ("Pull intervals", rows(mdc.pull_intervals, datasets, "every {} min")),
        ("Path overrides", rows(mdc.path_overrides, {}, "{}")),
        ("Tabular views", rows(mdc.tabular_views, tables, "{}")),
    ]


class MdcFormView(ServiceFormView):
    """Register or edit an MDC; "Test connection" posts the same form and tries its values
    without saving them, with what fails marked on the field concerned."""

    form_class = MdcForm
    mdc: Mdc | None = None

    @property
    def testing(self) -> bool:
        return self.request.method == "POST" and self.request.POST.get("action") == "test"

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if self.testing:  # a draft may be tried before it has a code and a name
            for name in ("code", "name"):
                form.fields[name].required = False
        return form

    def form_valid(self, form):
        if not self.testing:
            return super().form_valid(form)
        result = connection.mdc_test_draft(
            actor=self.request.user, values=form.changes(), mdc=self.mdc
        )
        for name, errors in result.field_errors.items():
            form.add_error(name if name in form.fields else None, errors)
        for name in SECRET_FIELDS:  # what was just typed stays in the form, nothing stored
            form.fields[name].widget.render_value = True
        return self.render_to_response(self.get_context_data(form=form, test_result=result))

    def form_invalid(self, form):
        if self.testing:
            messages.error(self.request, "Not tested: fix the fields marked first.")
        return super().form_invalid(form)

    def get_context_data(self, **kwargs):
        return super().get_context_data(test_connection=True, **kwargs)


class MdcCreateView(MdcFormView):
    permission_required = "registry.add_mdc"
    title = "Register an MDC"

    @property
    def cancel_url(self) -> str:
        return reverse("registry:mdc-list")

    def call_service(self, form):
        data = form.changes()
        return services.mdc_register(actor=self.request.user, **data)


class MdcUpdateView(MdcFormView):
    permission_required = "registry.change_mdc"

    def load(self, pk):
        self.mdc = get_object_or_404(Mdc, pk=pk)
        self.title = f"Edit MDC {self.mdc.code}"
        self.cancel_url = self.mdc.get_absolute_url()

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.mdc}

    def call_service(self, form):
        return services.mdc_update(actor=self.request.user, mdc=self.mdc, **form.changes())


class MdcTestConnectionView(PermissionRequiredMixin, View):
    permission_required = "registry.change_mdc"
    http_method_names = ["post"]

    def post(self, request, pk):
        mdc = get_object_or_404(Mdc, pk=pk)
        result = services.mdc_test_connection(actor=request.user, mdc=mdc)
        text = f"{'Connection OK' if result.ok else 'Connection failed'} "
        text += f"({result.latency_ms} ms): {result.message}"
        (messages.success if result.ok else messages.error)(request, text)
        return redirect(mdc.get_absolute_url())


# --- meters ------------------------------------------------------------------------------------


class MeterListView(FilteredTableView):
    model = Meter
    table_class = tables.MeterTable
    filterset_class = filters.MeterFilter
    permission_required = "registry.view_meter"
    title = "Meters"
    create_url_name = "registry:meter-create"
    create_permission = "registry.add_meter"
    template_name = "registry/meter_list.html"

    def get_queryset(self):
        return Meter.objects.select_related("mdc", "transformer", "consumer")


class MeterDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "registry.view_meter"
    template_name = "registry/meter_detail.html"

    def get_queryset(self):
        return Meter.objects.with_hierarchy()

    def get_context_data(self, **kwargs):
        meter = self.object
        return super().get_context_data(
            title=f"Meter {meter.global_device_id}",
            hierarchy_path=selectors.meter_hierarchy_path(meter),
            consumer_url=consumer_url(meter.consumer) if meter.consumer else "",
            ActivationStatus=ActivationStatus,
            RelayState=RelayState,
            ConnectionStatus=ConnectionStatus,
            settings_rows=sorted(meter.device_settings.items()),
            mdc_confirmation=_mdc_confirmation(meter),
            sections=sections_render(self.request, meter),
            **kwargs,
        )


def _mdc_confirmation(meter: Meter) -> dict | None:
    """The MDC's confirmation of this meter (device_creation), from the command history."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    return import_string(settings.REGISTRY_MDC_CONFIRMATION)([meter.pk]).get(meter.pk)


class MeterCreateView(ServiceFormView):
    form_class = MeterForm
    permission_required = "registry.add_meter"
    title = "Register a meter"

    @property
    def cancel_url(self) -> str:
        return reverse("registry:meter-list")

    def call_service(self, form):
        data = dict(form.cleaned_data)
        meter = services.meter_register_at_mdc(actor=self.request.user, **data)
        if data.get("send_device_creation"):
            messages.info(
                self.request, f"device_creation sent to {meter.mdc.code} for {meter}: pending."
            )
        return meter


class MeterUpdateView(ServiceFormView):
    form_class = MeterForm
    permission_required = "registry.change_meter"

    def load(self, pk):
        self.meter = get_object_or_404(Meter, pk=pk)
        self.title = f"Edit meter {self.meter.global_device_id}"
        self.cancel_url = self.meter.get_absolute_url()

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.meter}

    def call_service(self, form):
        data = dict(form.cleaned_data)
        data.pop("global_device_id", None)
        return services.meter_update(actor=self.request.user, meter=self.meter, **data)


class MeterImportView(PermissionRequiredMixin, FormView):
    form_class = MeterImportForm
    permission_required = "registry.add_meter"
    template_name = "registry/meter_import.html"

    def form_valid(self, form):
        report = services.meters_import_csv(
            actor=self.request.user,
            file=form.cleaned_data["file"],
            mdc=form.cleaned_data["mdc"],
            all_or_nothing=form.cleaned_data["all_or_nothing"],
            send_device_creation=form.cleaned_data.get("send_device_creation", False),
        )
        if report.created:
            messages.success(
                self.request, f"Imported {report.created} of {report.rows_total} meters."
            )
        if report.device_creation_requests:
            messages.info(
                self.request,
                f"device_creation sent for {report.created} meters "
                f"({len(report.device_creation_requests)} command requests): pending until "
                "their MDCs confirm.",
            )
        elif report.device_creation_error:
            messages.warning(
                self.request,
                f"Meters imported; device_creation was not sent: {report.device_creation_error}",
            )
        elif report.errors:
            messages.error(self.request, "No meters were imported.")
        return self.render_to_response(self.get_context_data(form=form, report=report))

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title="Import meters", columns=services.IMPORT_COLUMNS, **kwargs
        )


# --- hierarchy ---------------------------------------------------------------------------------

# level -> (model, parent model, parent field, table, filter)
LEVELS = {
    "disco": (Disco, None, None, tables.DiscoTable, filters.DiscoFilter),
    "circle": (Circle, Disco, "disco", tables.CircleTable, filters.CircleFilter),
    "division": (Division, Circle, "circle", tables.DivisionTable, filters.DivisionFilter),
    "subdivision": (
        Subdivision,
        Division,
        "division",
        tables.SubdivisionTable,
        filters.SubdivisionFilter,
    ),
    "feeder": (Feeder, Subdivision, "subdivision", tables.FeederTable, filters.FeederFilter),
    "transformer": (
        Transformer,
        Feeder,
        "feeder",
        tables.TransformerTable,
        filters.TransformerFilter,
    ),
}
_METERS_PATH = {
    "disco": "circles__divisions__subdivisions__feeders__transformers__meters",
    "circle": "divisions__subdivisions__feeders__transformers__meters",
    "division": "subdivisions__feeders__transformers__meters",
    "subdivision": "feeders__transformers__meters",
    "feeder": "transformers__meters",
    "transformer": "meters",
}
_CREATE = {
    "disco": services.disco_create,
    "circle": services.circle_create,
    "division": services.division_create,
    "subdivision": services.subdivision_create,
    "feeder": services.feeder_create,
    "transformer": services.transformer_create,
}


class HierarchyView(PermissionRequiredMixin, TemplateView):
    permission_required = "registry.view_disco"
    template_name = "registry/hierarchy.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title="Network hierarchy",
            discos=selectors.hierarchy_tree(),
            levels=list(LEVELS),
            **kwargs,
        )


class NodeListView(FilteredTableView):
    """The list of one hierarchy level: ``/registry/hierarchy/<level>/``."""

    template_name = "registry/node_list.html"

    def dispatch(self, request, *args, **kwargs):
        self.level = kwargs["level"]
        if self.level not in LEVELS:
            raise Http404("No such level.")
        model, _, parent_field, self.table_class, self.filterset_class = LEVELS[self.level]
        self.model = model
        self.permission_required = f"registry.view_{self.level}"
        self.title = str(model._meta.verbose_name_plural).capitalize()
        if self.level == "disco":
            self.title = "DISCOs"
        self.create_permission = f"registry.add_{self.level}"
        self.parent_field = parent_field
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        qs = self.model.objects.annotate(meter_count=Count(_METERS_PATH[self.level]))
        qs = qs.order_by(*(f"{self.parent_field}__code",) if self.parent_field else (), "code")
        return qs.select_related(self.parent_field) if self.parent_field else qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        can_add = self.request.user.has_perm(self.create_permission)
        context["create_url"] = (
            reverse("registry:node-create", args=[self.level]) if can_add else None
        )
        context["levels"] = list(LEVELS)
        context["level"] = self.level
        return context


class NodeCreateView(ServiceFormView):
    def dispatch(self, request, *args, **kwargs):
        self.level = kwargs["level"]
        if self.level not in LEVELS:
            raise Http404("No such level.")
        self.model, self.parent_model, self.parent_field, _, _ = LEVELS[self.level]
        self.permission_required = f"registry.add_{self.level}"
        self.title = f"Add a {self.model._meta.verbose_name}"
        self.cancel_url = reverse("registry:node-list", args=[self.level])
        return super().dispatch(request, *args, **kwargs)

    def get_form(self, form_class=None):
        parent_label = self.parent_model._meta.verbose_name if self.parent_model else ""
        return NodeForm(
            **self.get_form_kwargs(),
            parent_model=self.parent_model,
            parent_label=str(parent_label).capitalize(),
            with_capacity=self.level == "transformer",
        )

    def call_service(self, form):
        data = dict(form.cleaned_data)
        parent = data.pop("parent", None)
        if self.parent_field:
            data[self.parent_field] = parent
        return _CREATE[self.level](actor=self.request.user, **data)

    def get_success_url(self) -> str:
        return reverse("registry:node-list", args=[self.level])


# --- consumers ---------------------------------------------------------------------------------


class ConsumerListView(FilteredTableView):
    model = Consumer
    table_class = tables.ConsumerTable
    filterset_class = filters.ConsumerFilter
    permission_required = "registry.view_consumer"
    title = "Consumers"
    create_url_name = "registry:consumer-create"
    create_permission = "registry.add_consumer"

    def get_queryset(self):
        return Consumer.objects.annotate(meter_count=Count("meters")).order_by("reference_no")


class ConsumerCreateView(ServiceFormView):
    form_class = ConsumerForm
    permission_required = "registry.add_consumer"
    title = "Add a consumer"

    @property
    def cancel_url(self) -> str:
        return reverse("registry:consumer-list")

    def call_service(self, form):
        return services.consumer_create(actor=self.request.user, **form.cleaned_data)

    def get_success_url(self) -> str:
        return reverse("registry:consumer-list")


class ConsumerUpdateView(ServiceFormView):
    form_class = ConsumerForm
    permission_required = "registry.change_consumer"

    def load(self, pk):
        self.consumer = get_object_or_404(Consumer, pk=pk)
        self.title = f"Edit consumer {self.consumer.reference_no}"
        self.cancel_url = reverse("registry:consumer-list")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.consumer}

    def call_service(self, form):
        return services.consumer_update(
            actor=self.request.user, consumer=self.consumer, **form.cleaned_data
        )

    def get_success_url(self) -> str:
        return reverse("registry:consumer-list")
