"""CORS for browser-based connected services (SMART apps running in a page), keyed on paths.

- Public metadata (discovery documents, the JWKS, the CapabilityStatement): `Access-Control-Allow-Origin: *`,
  never with credentials.
- The token, revocation and introspection endpoints and the FHIR API (`/api/v1/...`): only for an origin a
  referenced service registered (the `allowed_origins` of its OAuth client, set by the referencing staff).
  The origin is echoed with `Vary: Origin`; `Access-Control-Allow-Credentials` is never sent (bearer tokens in
  a header, no cookies). An unknown origin gets no CORS header at all, so the browser refuses the answer.
- A preflight (OPTIONS with Access-Control-Request-Method) from a registered origin is answered here, before
  any view; from anyone else it goes on to the view like any request.
"""

from django.http import HttpRequest, HttpResponse

PUBLIC_PREFIXES = ("/.well-known/", "/api/v1/.well-known/")
PUBLIC_PATHS = ("/api/v1/metadata", "/oauth/jwks/")
REGISTERED_PATHS = ("/oauth/token/", "/oauth/revoke_token/", "/oauth/introspect/", "/api/v1/")
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Prefer, If-None-Match, If-Match, If-Modified-Since, Accept"
EXPOSE_HEADERS = "Location, Content-Location, ETag, Last-Modified, WWW-Authenticate, Retry-After"
MAX_AGE = "600"
MAX_ORIGIN_LENGTH = 255


def _is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS


def origin_registered(origin: str) -> bool:
    """Whether a referenced service registered `origin` (scheme://host[:port], exactly) for its client."""
    from oauth2_provider.models import get_application_model

    from catalogue.models import Service

    if not origin or len(origin) > MAX_ORIGIN_LENGTH or origin == "null" or any(c.isspace() for c in origin):
        return False
    client_ids = Service.objects.exclude(oauth_client_id=None).values("oauth_client_id")
    candidates = get_application_model().objects.filter(client_id__in=client_ids, allowed_origins__contains=origin)
    return any(origin in application.allowed_origins.split() for application in candidates)


class CorsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        path = request.path
        public = _is_public(path)
        registered = not public and bool(origin) and path.startswith(REGISTERED_PATHS) and origin_registered(origin)
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        if preflight and (public or registered):
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response["Access-Control-Max-Age"] = MAX_AGE
        else:
            response = self.get_response(request)
        if public:
            response["Access-Control-Allow-Origin"] = "*"
        elif registered:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        if path.startswith(REGISTERED_PATHS) and not public:
            response["Vary"] = ", ".join(filter(None, [response.get("Vary", ""), "Origin"]))
        return response
