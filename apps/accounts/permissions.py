"""API permissions: every endpoint needs a logged-in user and the model permission for the verb."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import throttling
from rest_framework.permissions import DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """Like DRF's DjangoModelPermissions, but reading also needs the ``view`` permission.

    Views without a queryset name their permission in ``required_permission``.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        from rest_framework.routers import APIRootView  # not at import: DRF imports this module

        if isinstance(view, APIRootView):
            return True  # the index of an API lists its links, nothing more
        required = getattr(view, "required_permission", None)
        if required is not None:
            return request.user.has_perm(required)
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return False
        return super().has_permission(request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        """Fields named in the view's ``field_permissions`` ({field: permission}) change only
        with that permission: a role may edit a record but not every field of it."""
        if request.method not in {"PUT", "PATCH"}:
            return True
        for name, permission in getattr(view, "field_permissions", {}).items():
            if name not in request.data or request.user.has_perm(permission):
                continue
            current = getattr(obj, f"{name}_id", getattr(obj, name, None))
            if str(request.data[name]).strip() != ("" if current is None else str(current)):
                self.message = f"Only an Administrator may change {name!r} here."
                return False
        return True


class _SettingsRate:
    """Rates come from settings at request time (``"off"`` switches a limit off), so a change
    of settings takes effect without re-importing DRF."""

    setting = ""

    def get_rate(self) -> str | None:
        rate = getattr(settings, self.setting, None)
        if not rate or str(rate).lower() in {"off", "none", "0"}:
            return None
        return rate


class UserRateThrottle(_SettingsRate, throttling.UserRateThrottle):
    setting = "API_RATE_USER"


class AnonRateThrottle(_SettingsRate, throttling.AnonRateThrottle):
    setting = "API_RATE_ANON"


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login: JSON for the API, the login page otherwise.
    Both say how long the lock lasts (and 429 carries Retry-After)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many failed logins: this account is locked for {minutes} minutes. "
        "Try again later or ask an administrator."
    )
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/lockout.html", {"message": message}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
