"""Serve plotly.js from the plotly Python package, so the browser never loads it from the internet
and the JS always matches the Python library that renders the figures."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_STATIC_PATH = "vendor/plotly/plotly.min.js"
_PACKAGE_DATA = Path(plotly.__file__).parent / "package_data"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(_PACKAGE_DATA))

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path != PLOTLY_STATIC_PATH:
            return [] if find_all else None
        found = str(_PACKAGE_DATA / "plotly.min.js")
        return [found] if find_all else found

    def list(self, ignore_patterns):
        yield "plotly.min.js", _PrefixedStorage(self.storage, "vendor/plotly")


class _PrefixedStorage(FileSystemStorage):
    """Tells collectstatic to copy the file under vendor/plotly/."""

    def __init__(self, storage: FileSystemStorage, prefix: str):
        super().__init__(location=storage.location)
        self.prefix = prefix
