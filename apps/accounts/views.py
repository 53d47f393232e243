"""The API tokens page (create: the secret is shown once; list; revoke) and the user's
background exports (progress, download)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from apps.accounts.choices import ExportState, TokenState
from apps.accounts.exports import export_file
from apps.accounts.forms import ApiTokenForm
from apps.accounts.models import ExportJob
from apps.accounts.selectors import tokens_visible_to
from apps.accounts.services import api_token_create, api_token_revoke

TEMPLATE = "accounts/tokens.html"


class ApiTokenListView(View):
    def _can_manage_all(self) -> bool:
        return self.request.user.has_perm("accounts.manage_all_apitoken")

    def _render(self, form, secret: str | None = None, status: int = 200):
        context = {
            "title": "API tokens",
            "form": form,
            "tokens": tokens_visible_to(self.request.user),
            "new_secret": secret,
            "show_users": self._can_manage_all(),
            "TokenState": TokenState,
        }
        return render(self.request, TEMPLATE, context, status=status)

    def get(self, request):
        return self._render(ApiTokenForm(can_manage_all=self._can_manage_all()))

    def post(self, request):
        form = ApiTokenForm(request.POST, can_manage_all=self._can_manage_all())
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            token, secret = api_token_create(
                actor=request.user,
                user=form.cleaned_data.get("user") or request.user,
                name=form.cleaned_data["name"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self._render(form, status=400)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            return self._render(form, status=403)
        messages.success(request, f"Token {token.key_prefix}… created. Copy it now.")
        return self._render(ApiTokenForm(can_manage_all=self._can_manage_all()), secret)


class ApiTokenRevokeView(View):
    def post(self, request, pk: int):
        token = get_object_or_404(tokens_visible_to(request.user), pk=pk)
        try:
            api_token_revoke(actor=request.user, token=token)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Token {token.key_prefix}… revoked.")
        return redirect("api-token-list")


class ExportJobListView(View):
    def get(self, request):
        jobs = ExportJob.objects.filter(user=request.user)[:50]
        active = any(job.state in ExportState.active() for job in jobs)
        context = {"title": "Exports", "jobs": jobs, "ExportState": ExportState, "active": active}
        return render(request, "accounts/exports.html", context)


class ExportJobDownloadView(View):
    def get(self, request, pk: int):
        job = get_object_or_404(ExportJob, pk=pk, user=request.user)  # only its owner
        path = export_file(job)
        if path is None:
            raise Http404("This export is not ready (or its file was removed).")
        name = f"{job.title.lower().replace(' ', '_') or 'export'}.csv"
        return FileResponse(path.open("rb"), as_attachment=True, filename=name)
