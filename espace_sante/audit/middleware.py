import uuid

from espace_sante.audit.context import RequestContext, current


class AuditContextMiddleware:
    """Give each request an id (grouping its events) and remember the client address."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        context = RequestContext(request_id=uuid.uuid4(), ip_address=client_ip(request))
        request.audit_context = context
        token = current.set(context)
        try:
            return self.get_response(request)
        finally:
            current.reset(token)


def client_ip(request) -> str | None:
    """REMOTE_ADDR; a reverse proxy in front must set it (e.g. gunicorn --forwarded-allow-ips)."""
    return request.META.get("REMOTE_ADDR") or None
