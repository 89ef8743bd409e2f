"""PDF rendering with WeasyPrint: one helper, local files only, one shared font configuration.

WeasyPrint's documentation warns against fetching untrusted URLs; our templates only need files under
static/, so the fetcher refuses anything else. The font configuration is built once per process
(building it per document costs more than the rendering itself).
"""

import functools
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

STATIC_DIR = (Path(settings.BASE_DIR) / "static").resolve()


@functools.cache
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@functools.cache
def _fetcher():
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("file://"):
                raise ValueError(f"PDF rendering may not fetch {url}")
            path = Path(url.removeprefix("file://").split("?")[0]).resolve()
            if not path.is_relative_to(STATIC_DIR):
                raise ValueError(f"PDF rendering may not read {path}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols={"file"})


def render_pdf(template_name: str, context: dict) -> bytes:
    from weasyprint import HTML

    html = render_to_string(template_name, context)
    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=_fetcher())
    return document.write_pdf(font_config=_font_config())
