"""The FHIR server's views: [base]/metadata, search, read and create for every registered resource type,
and an OperationOutcome for every other path under /api/. Bearer tokens, no cookies: no CSRF to forge."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from espace_sante.fhir import search
from espace_sante.fhir.capability import capability_statement
from espace_sante.fhir.errors import FhirError, NotFound
from espace_sante.fhir.http import fhir_response, negotiate, outcome_response, parse_body, prefers_strict
from espace_sante.fhir.registry import Context, Resource, authenticate, resource_for

API_ROOT = "/api/v1"


def fhir_base(request: HttpRequest | None = None) -> str:
    """The FHIR base URL (the public site's, SITE_URL: what tokens' `aud` names), without a trailing slash."""
    return settings.SITE_URL.rstrip("/") + API_ROOT


def _not_allowed(allowed: list[str]) -> HttpResponse:
    return outcome_response(405, "not-supported", "Méthode non prise en charge.", {"Allow": ", ".join(allowed)})


def _require(ctx: Context, resource: Resource, interaction: str) -> None:
    if interaction not in resource.interactions:
        raise FhirError("Interaction non prise en charge.", status=405, code="not-supported")
    if resource.patient_bound and ctx.client.patient is None:
        raise FhirError(
            "Ce type de ressource n’est pas servi à ce client.",
            status=403,
            code="forbidden",
            reason="scope",
            headers={"WWW-Authenticate": 'Bearer realm="api", error="insufficient_scope"'},
        )
    if not ctx.client.allows(resource.type, interaction):
        scope = ctx.client.scope_needed(resource.type, interaction)
        raise FhirError(
            "Le patient n’a pas autorisé ce service pour cette opération.",
            status=403,
            code="forbidden",
            reason="scope",
            headers={"WWW-Authenticate": f'Bearer realm="api", error="insufficient_scope", scope="{scope}"'},
        )


def _serve(request: HttpRequest, resource_type: str, handler) -> HttpResponse:
    try:
        resource = resource_for(resource_type)
        negotiate(request, raw=resource.raw_content)
        client = authenticate(request)
        request.fhir_client = client
        return handler(resource, Context(request=request, client=client, base=fhir_base(request)))
    except Http404:
        error = NotFound()
    except FhirError as raised:
        error = raised
    client = getattr(request, "fhir_client", None)
    if client is not None and error.reason:
        client.refused(reason=error.reason, method=request.method, path=request.path[:200])
    return outcome_response(error.status, error.code, error.text, error.headers)


def _search(resource: Resource, ctx: Context, params) -> HttpResponse:
    _require(ctx, resource, "search-type")
    queryset = resource.queryset(ctx)
    query = search.parse(resource, params, strict=prefers_strict(ctx.request), model=queryset.model)
    queryset = queryset.filter(*query.filters)
    total = queryset.count()
    digest = query.digest(resource.type)
    link_base = ctx.url(resource.type)

    def link(relation: str, extra: list) -> dict:
        return {"relation": relation, "url": f"{link_base}?{urlencode(query.used + extra)}"}

    bundle = {"resourceType": "Bundle", "type": "searchset", "total": total}
    if query.summary_count:
        bundle["link"] = [link("self", [])]
        ctx.client.traced(resource_type=resource.type, interaction="search-type", count=0)
        return fhir_response(bundle)
    items, has_previous, has_next = search.page(queryset, query, digest)
    own_page = [("_page", ctx.request.GET["_page"])] if "_page" in ctx.request.GET else []
    links = [link("self", own_page)]
    if has_previous and items:
        links.append(link("previous", [("_page", search.cursor_token(query, digest, items[0], "prev"))]))
    if has_next and items:
        links.append(link("next", [("_page", search.cursor_token(query, digest, items[-1], "next"))]))
    bundle["link"] = links
    if items:
        bundle["entry"] = [
            {
                "fullUrl": ctx.url(resource.type, str(getattr(item, resource.id_field))),
                "resource": resource.resource(item, ctx),
                "search": {"mode": "match"},
            }
            for item in items
        ]
    ctx.client.traced(resource_type=resource.type, interaction="search-type", count=len(items))
    return fhir_response(bundle)


def _created(resource: Resource, ctx: Context) -> HttpResponse:
    _require(ctx, resource, "create")
    obj = resource.create(parse_body(ctx.request, resource.type), ctx)
    resource_id = str(getattr(obj, resource.id_field))
    return fhir_response(
        resource.resource(obj, ctx),
        status=201,
        headers={
            "Location": ctx.url(resource.type, resource_id),
            "ETag": resource.etag(obj),
        },
    )


@csrf_exempt
@login_not_required
def type_endpoint(request: HttpRequest, resource_type: str) -> HttpResponse:
    """[base]/<type>: search (GET) and create (POST)."""
    if request.method not in ("GET", "POST"):
        return _not_allowed(["GET", "POST"])
    if request.method == "GET":
        return _serve(request, resource_type, lambda resource, ctx: _search(resource, ctx, request.GET))
    return _serve(request, resource_type, _created)


@csrf_exempt
@login_not_required
def search_endpoint(request: HttpRequest, resource_type: str) -> HttpResponse:
    """[base]/<type>/_search: search with the parameters in a form-encoded body (FHIR R4 §3.1.1.3)."""
    if request.method != "POST":
        return _not_allowed(["POST"])
    params = request.GET.copy()
    for key in request.POST:
        params.setlist(key, params.getlist(key) + request.POST.getlist(key))
    return _serve(request, resource_type, lambda resource, ctx: _search(resource, ctx, params))


@csrf_exempt
@login_not_required
def instance_endpoint(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    """[base]/<type>/<id>: read, with ETag and If-None-Match."""
    if request.method != "GET":
        return _not_allowed(["GET"])

    def read(resource: Resource, ctx: Context) -> HttpResponse:
        _require(ctx, resource, "read")
        id_q = resource._id_q(None, resource_id)
        obj = resource.queryset(ctx).filter(id_q).first() if id_q is not None else None
        if obj is None:
            raise NotFound()
        ctx.client.traced(resource_type=resource.type, interaction="read", target=obj)
        etag = resource.etag(obj)
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponse(status=304)
            response["ETag"] = etag
            return response
        response = resource.read_response(obj, ctx) or fhir_response(resource.resource(obj, ctx))
        response["ETag"] = etag
        response["Last-Modified"] = resource.last_updated(obj).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return response

    return _serve(request, resource_type, read)


@csrf_exempt
@login_not_required
def metadata(request: HttpRequest) -> HttpResponse:
    """[base]/metadata: public, like every FHIR server's (clients read it before any authorization)."""
    if request.method != "GET":
        return _not_allowed(["GET"])
    try:
        negotiate(request)
    except FhirError as error:
        return outcome_response(error.status, error.code, error.text)
    base = fhir_base(request)
    site = settings.SITE_URL.rstrip("/")
    return fhir_response(capability_statement(base, site))


@csrf_exempt
@login_not_required
def not_found(request: HttpRequest, **kwargs) -> HttpResponse:
    """Every other path under /api/: an OperationOutcome, never the portal's HTML 404."""
    return outcome_response(404, "not-found", "Aucune ressource FHIR à cette adresse.")
