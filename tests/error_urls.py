"""The portal's URLs plus two views that fail, to see the error answers (tests only)."""

from django.urls import path

from mdm.urls import handler403, handler404, handler500, urlpatterns


def _crash(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("api/test-crash/", _crash),
    path("test-crash/", _crash),
    *urlpatterns,
]

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
