"""Static files storage of production and `mdm up`: WhiteNoise's compressed manifest storage
(content-hashed names, gzip/brotli copies), tolerant of source maps vendored files name but do
not ship (Bootstrap's minified files end with ``sourceMappingURL=bootstrap.min.css.map``;
without this, collectstatic fails on the missing map)."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def hashed_name(self, name, content=None, filename=None):
        try:
            return super().hashed_name(name, content, filename)
        except ValueError:
            if name.split("?", 1)[0].split("#", 1)[0].strip().endswith(".map"):
                return name  # the reference stays as it was: browsers ignore a missing map
            raise
