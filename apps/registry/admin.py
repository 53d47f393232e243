"""Admin: every registry model. Writes go through the services (so they are audited);
credentials are masked and kept when left blank."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from apps.audit.services import audit_record
from apps.registry import services
from apps.registry.forms import MdcForm
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

MASK = "•••• (set)"


class MdcAdminForm(forms.ModelForm):
    base_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False))
    auth_code = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), label="Authorization code"
    )
    tabular_database_url = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False)
    )

    class Meta:
        model = Mdc
        fields = MdcForm.Meta.fields

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in services.SECRET_FIELDS:
            stored = getattr(self.instance, name, "") if self.instance.pk else ""
            self.fields[name].widget.attrs["placeholder"] = MASK if stored else "(not set)"
            self.fields[name].widget.attrs["autocomplete"] = "new-password"

    def _keep(self, name: str) -> str:
        value = self.cleaned_data.get(name)
        if not value and self.instance.pk:
            return getattr(Mdc.objects.get(pk=self.instance.pk), name) or ""
        return value or ""

    def clean_password(self):
        return self._keep("password")

    def clean_auth_code(self):
        return self._keep("auth_code")

    def clean_tabular_database_url(self):
        return self._keep("tabular_database_url")


@admin.register(Mdc)
class MdcAdmin(admin.ModelAdmin):
    form = MdcAdminForm
    list_display = ("code", "name", "vendor", "udil_profile", "transport", "enabled")
    list_filter = ("transport", "udil_profile", "enabled")
    search_fields = ("code", "name", "vendor")

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.cleaned_data}
        if change:
            saved = services.mdc_update(
                actor=request.user, mdc=Mdc.objects.get(pk=obj.pk), **fields
            )
        else:
            saved = services.mdc_register(actor=request.user, **fields)
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Plain admin whose saves and deletes leave an audit row."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        label = obj._meta.model_name
        audit_record(
            actor=request.user,
            action=f"registry.{label}.{'update' if change else 'create'}",
            target=obj,
            summary=f"{'Changed' if change else 'Created'} {label} {obj} in the admin",
            detail={"fields": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        audit_record(
            actor=request.user,
            action=f"registry.{obj._meta.model_name}.delete",
            target=obj,
            summary=f"Deleted {obj._meta.model_name} {obj} in the admin",
        )
        super().delete_model(request, obj)


@admin.register(Meter)
class MeterAdmin(AuditedAdmin):
    list_display = ("global_device_id", "msn", "mdc", "device_type", "activation_status")
    list_filter = ("mdc", "activation_status", "device_type", "phase", "profile_hint")
    search_fields = ("global_device_id", "=msn", "sim_number")
    raw_id_fields = ("transformer", "consumer")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Consumer)
class ConsumerAdmin(AuditedAdmin):
    list_display = ("reference_no", "name", "tariff", "sanctioned_load_kw", "connection_status")
    list_filter = ("connection_status", "phase")
    search_fields = ("reference_no", "name")


@admin.register(Disco)
class DiscoAdmin(AuditedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Circle)
class CircleAdmin(AuditedAdmin):
    list_display = ("code", "name", "disco")
    list_filter = ("disco",)
    search_fields = ("code", "name")


@admin.register(Division)
class DivisionAdmin(AuditedAdmin):
    list_display = ("code", "name", "circle")
    search_fields = ("code", "name")


@admin.register(Subdivision)
class SubdivisionAdmin(AuditedAdmin):
    list_display = ("code", "name", "division")
    search_fields = ("code", "name")


@admin.register(Feeder)
class FeederAdmin(AuditedAdmin):
    list_display = ("code", "name", "subdivision")
    search_fields = ("code", "name")
    raw_id_fields = ("subdivision",)


@admin.register(Transformer)
class TransformerAdmin(AuditedAdmin):
    list_display = ("code", "name", "feeder", "capacity_kva")
    search_fields = ("code", "name")
    raw_id_fields = ("feeder",)
