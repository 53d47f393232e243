"""Error answers: pages in the portal's layout, JSON under ``/api/``.

Django's own handlers answer HTML for every path, so a program calling an API URL that does not
exist (or one that crashes) would get a page it cannot read. Programs get ``{"detail": ...}``,
the shape DRF uses for its own errors.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _page(request: HttpRequest | None, template: str, status: int, **context) -> HttpResponse:
    return HttpResponse(
        loader.render_to_string(template, {"title": context.get("title", ""), **context}, request),
        status=status,
    )


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return _page(request, "404.html", 404, title="Page not found", path=request.path)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action."}, status=403
        )
    return _page(request, "403.html", 403, title="Access denied")


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    # No request context: the failure may lie in a context processor or the session.
    return _page(None, "500.html", 500, title="Server error")
