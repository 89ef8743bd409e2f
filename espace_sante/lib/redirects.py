"""Where to send someone back to, when the address comes from the request.

Every redirect whose target is taken from the request (a `next` parameter, the current path, a value kept
in the session) goes through `safe_redirect_url`: a target is followed only when it stays on this site
(Django's `url_has_allowed_host_and_scheme`, HTTPS only on a secure request or outside DEBUG), else the
fallback is used. `//evil.example/`, `/\\evil.example`, `https://evil.example` and `javascript:` never leave
here as a Location. tests/security/test_redirects.py checks that no view builds a redirect from the request
any other way.
"""

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

NEXT_PARAMETER = "next"


def is_safe_redirect(request: HttpRequest, target: str | None) -> bool:
    return bool(target) and url_has_allowed_host_and_scheme(
        target,
        allowed_hosts={request.get_host()},
        require_https=request.is_secure() or not settings.DEBUG,
    )


def safe_redirect_url(request: HttpRequest, target: str | None, *, fallback: str | None) -> str | None:
    """`target` when it stays on this site, else `fallback` (a URL or a URL name, resolved; or None)."""
    if is_safe_redirect(request, target):
        return target
    return resolve_url(fallback) if fallback is not None else None


def next_url(request: HttpRequest, *, fallback: str | None) -> str | None:
    """The `next` parameter of the query string, when it stays on this site, else `fallback`."""
    return safe_redirect_url(request, request.GET.get(NEXT_PARAMETER), fallback=fallback)
