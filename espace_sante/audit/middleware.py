import uuid

from espace_sante.audit.context import RequestContext, current


class AuditContextMiddleware:
    """Give each request an id (grouping its events) and remember the client address (request.client_ip,
    found by espace_sante.lib.client_address behind the proxies)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        context = RequestContext(request_id=uuid.uuid4(), ip_address=request.client_ip or None)
        request.audit_context = context
        token = current.set(context)
        try:
            return self.get_response(request)
        finally:
            current.reset(token)
