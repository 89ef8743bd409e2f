import logging
import time

from django.conf import settings
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from espace_sante.lib.logging import KNOWN_METHODS, route_name

access_logger = logging.getLogger("espace_sante.requests")


class NoStoreMiddleware:
    """Anything served to a signed-in person is personal: never cached by browsers or proxies."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        elif "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        response.headers.pop("Server", None)
        return response


class AccessLogMiddleware:
    """One line per request: method, route name, status, duration. Never the path or the query string (a
    password-reset, share or agenda-feed link carries its token there), never the client or the user.

    First in MIDDLEWARE, so it sees every answer (the HTTPS redirect, an expired-session redirect) and times
    the whole stack; the request id comes from AuditContextMiddleware further in, through the request."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        route = route_name(request)
        method = request.method if request.method in KNOWN_METHODS else "OTHER"
        context = getattr(request, "audit_context", None)
        access_logger.info(
            "%s %s %s %.1fms",
            method,
            route or "-",
            response.status_code,
            duration_ms,
            extra={
                "request_id": context.request_id if context is not None else None,
                "route": route,
                "method": method,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response


class RequestBodyLimitMiddleware:
    """Refuse a body bigger than the portal takes before anything reads it: 413 with a French page.

    The size is the Content-Length, read from the headers: the body itself is never touched here, and CSRF
    (which parses the form) and the views come after. Signed-in people and connected services (an
    Authorization header) may send up to REQUEST_BODY_MAX_BYTES (the largest upload plus margin), anyone else
    ANONYMOUS_REQUEST_BODY_MAX_BYTES. A body sent without Content-Length (chunked) is refused with 411: Django
    reads no byte of such a body, so it could only be silently dropped.

    After AuthenticationMiddleware, to tell who is signed in (from the session, not from the body)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        length = request.META.get("CONTENT_LENGTH")
        if not length:
            if request.META.get("HTTP_TRANSFER_ENCODING"):
                return _body_refusal(request, status=411)
            return self.get_response(request)
        try:
            size = int(length)
        except ValueError:
            size = 0  # Django reads no byte of a body whose length it cannot read
        if size > self._limit(request):
            return _body_refusal(request, status=413)
        return self.get_response(request)

    @staticmethod
    def _limit(request) -> int:
        signed_in = getattr(request, "user", None) is not None and request.user.is_authenticated
        if signed_in or request.META.get("HTTP_AUTHORIZATION"):
            return settings.REQUEST_BODY_MAX_BYTES
        return settings.ANONYMOUS_REQUEST_BODY_MAX_BYTES


def _body_refusal(request, *, status: int):
    context = {"title": "Envoi trop volumineux" if status == 413 else "Taille de l’envoi inconnue", "status": status}
    response = render(request, "errors/request_body.html", context, status=status)
    response["Connection"] = "close"
    return response
