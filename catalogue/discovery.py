"""Public metadata a standard client reads before anything else, all from one function (`metadata()`):

- `/.well-known/smart-configuration` and `[FHIR base]/.well-known/smart-configuration` (SMART App Launch 2,
  the second one is where fhirclient and most SMART libraries look);
- `/.well-known/oauth-authorization-server` (RFC 8414);
- `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0).

Anonymous, JSON, no credentials: served with `Access-Control-Allow-Origin: *` (catalogue/cors.py).
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from catalogue import client_assertion, smart
from catalogue.enums import Scope

SMART_CAPABILITIES = [
    "launch-standalone",
    "client-public",
    "client-confidential-asymmetric",
    "context-standalone-patient",
    "permission-v2",
    "permission-v1",
    "permission-patient",
    "permission-offline",
    "sso-openid-connect",
]


def scopes_supported() -> list[str]:
    resource_scopes = []
    for resource, (_read, write) in smart.RESOURCES.items():
        resource_scopes += [f"patient/{resource}.rs", f"patient/{resource}.read"]
        if write:
            resource_scopes += [f"patient/{resource}.cu", f"patient/{resource}.write"]
    return [
        *smart.PLAIN_SCOPES,
        "patient/Patient.rs",
        "patient/Patient.read",
        "patient/*.rs",
        "patient/*.read",
        *resource_scopes,
        *Scope.values,
    ]


def metadata() -> dict:
    """The authorization server as every discovery document describes it (absolute URLs from SITE_URL)."""
    auth_methods = ["private_key_jwt", "none"]
    return {
        "issuer": smart.issuer(),
        "authorization_endpoint": smart.endpoint("authorize"),
        "token_endpoint": smart.endpoint("token"),
        "revocation_endpoint": smart.endpoint("revoke-token"),
        "introspection_endpoint": smart.endpoint("introspect"),
        "jwks_uri": smart.endpoint("jwks-info"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(client_assertion.ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "scopes_supported": scopes_supported(),
        "authorization_response_iss_parameter_supported": True,
        # OpenID Connect
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser"],
        # SMART App Launch 2
        "capabilities": SMART_CAPABILITIES,
        "ui_locales_supported": ["fr"],
    }


def _document(data: dict) -> JsonResponse:
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=3600"
    return response


@login_not_required
@require_safe
def smart_configuration(request: HttpRequest) -> JsonResponse:
    return _document(metadata())


@login_not_required
@require_safe
def oauth_authorization_server(request: HttpRequest) -> JsonResponse:
    data = metadata()
    data.pop("capabilities")
    return _document(data)


@login_not_required
@require_safe
def openid_configuration(request: HttpRequest) -> JsonResponse:
    data = metadata()
    data.pop("capabilities")
    return _document(data)
