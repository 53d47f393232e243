"""URL map: each capability app owns its pages under /<app>/ and its REST API under /api/<app>/."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core.views import SearchView

urlpatterns = [
    path("", include("apps.dashboard.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("admin/", admin.site.urls),
    path("search/", SearchView.as_view(), name="search"),
    path("audit/", include("apps.audit.urls")),
    path("registry/", include("apps.registry.urls")),
    path("warehouse/", include("apps.warehouse.urls")),
    path("ingestion/", include("apps.ingestion.urls")),
    path("commands/", include("apps.commands.urls")),
    path("vee/", include("apps.vee.urls")),
    path("billing/", include("apps.billing.urls")),
    path("analytics/", include("apps.analytics.urls")),
    path("workflows/", include("apps.workflows.urls")),
    path("conformance/", include("apps.conformance.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # the split view serves Swagger UI's start-up script as a file: the CSP allows no inline script
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/accounts/", include("apps.accounts.api_urls")),
    path("api/audit/", include("apps.audit.api_urls")),
    path("api/registry/", include("apps.registry.api_urls")),
    path("api/warehouse/", include("apps.warehouse.api_urls")),
    path("api/ingestion/", include("apps.ingestion.api_urls")),
    path("api/commands/", include("apps.commands.api_urls")),
    path("api/vee/", include("apps.vee.api_urls")),
    path("api/billing/", include("apps.billing.api_urls")),
    path("api/analytics/", include("apps.analytics.api_urls")),
    path("api/workflows/", include("apps.workflows.api_urls")),
    path("api/conformance/", include("apps.conformance.api_urls")),
]

if settings.SIMULATOR_ENABLED:
    urlpatterns += [path("sim/", include("apps.simulator.urls"))]

# Error answers in the portal's layout, and JSON under /api/ (see mdm.errors).
handler403 = "mdm.errors.permission_denied"
handler404 = "mdm.errors.page_not_found"
handler500 = "mdm.errors.server_error"
