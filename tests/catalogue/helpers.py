"""Building blocks for the catalogue tests: a service with purposes and an OAuth client, PKCE, the flow."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

from catalogue import smart
from catalogue.enums import ServiceCategory
from catalogue.models import Purpose, Service
from catalogue.services import service_application_ensure

REDIRECT_URI = "https://tensio.example/oauth/callback"


def make_service(name: str = "Tensio Test", *, redirect_uri: str = REDIRECT_URI, **fields) -> Service:
    defaults = {
        "publisher": "Hexasanté SAS",
        "short_description": "Suivi de la tension",
        "description": "Un service de test.",
        "category": ServiceCategory.CHRONIQUE,
        "website": "https://tensio.example",
    }
    defaults.update(fields)
    service = Service.objects.create(name=name, **defaults)
    Purpose.objects.create(service=service, label="Importer mes mesures", scopes="measures:write", position=0)
    Purpose.objects.create(service=service, label="Consulter mes mesures", scopes="measures:read", position=1)
    Purpose.objects.create(
        service=service,
        label="Consulter mes documents",
        scopes="documents:read",
        document_categories=["biologie"],
        position=2,
    )
    Purpose.objects.create(
        service=service, label="Partager mes rendez-vous", scopes="agenda:read agenda:write", position=3
    )
    return service_application_ensure(service=service, redirect_uris=redirect_uri)


def purpose_ids(service: Service, *labels: str) -> list[str]:
    return [str(service.purposes.get(label=label).pk) for label in labels]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_url(service: Service, challenge: str, *, scope: str = "measures:write documents:read", **extra) -> str:
    params = {
        "response_type": "code",
        "client_id": service.oauth_client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "etat-42",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "aud": smart.fhir_base(),
    }
    params.update(extra)
    return "/oauth/authorize/?" + urlencode(params)


def code_from(location: str) -> str:
    query = parse_qs(urlparse(location).query)
    assert query["state"] == ["etat-42"], location
    return query["code"][0]


def token_request(http, service: Service, code: str, verifier: str):
    """`http` is a Django test client or anything with .post(url, data)."""
    return http.post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": service.oauth_client_id,
            "code_verifier": verifier,
        },
    )


def connect_and_get_tokens(client, api_client, service: Service, labels: tuple[str, ...]) -> dict:
    """A logged-in patient `client` consents to `labels`; `api_client` (no cookies) gets the tokens."""
    verifier, challenge = pkce()
    url = authorize_url(service, challenge)
    assert client.get(url).status_code == 200
    response = client.post(url, {"purposes": purpose_ids(service, *labels), "allow": "1"})
    assert response.status_code == 302, response.content.decode()[:500]
    response = token_request(api_client, service, code_from(response["Location"]), verifier)
    assert response.status_code == 200, response.content
    return response.json()
