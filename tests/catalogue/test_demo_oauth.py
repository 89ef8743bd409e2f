"""Every service the demo seeds can be connected: the OAuth authorization-code flow (PKCE) runs to the tokens
with the redirect URI the service registered, as a real service would send it."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from catalogue import smart
from catalogue.demo import SERVICES, seed_demo
from catalogue.models import Service
from tests.catalogue.helpers import pkce

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(personas):
    seed_demo(personas)
    return personas


@pytest.mark.parametrize("name", [entry[0] for entry in SERVICES])
def test_every_seeded_service_completes_the_authorization_code_flow(seeded, client, session_as, name):
    session_as(client, "camille")
    service = Service.objects.get(name=name)
    redirect_uri = service.application.redirect_uris.split()[0]
    verifier, challenge = pkce()
    url = "/oauth/authorize/?" + urlencode(
        {
            "response_type": "code",
            "client_id": service.oauth_client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(sorted(service.all_scopes)),
            "state": "etat-demo",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "aud": smart.fhir_base(),
        }
    )
    page = client.get(url)
    assert page.status_code == 200, page.content.decode()[:800]
    purposes = [str(pk) for pk in service.purposes.values_list("pk", flat=True)]
    response = client.post(url, {"purposes": purposes, "allow": "1"})
    assert response.status_code == 302, response.content.decode()[:800]
    location = response["Location"]
    assert location.startswith(redirect_uri + "?"), location
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["etat-demo"]

    tokens = Client().post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
            "client_id": service.oauth_client_id,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.content
    assert tokens.json()["access_token"] and tokens.json()["refresh_token"]


def test_seeded_redirect_uris_and_websites_are_plain_ascii(seeded):
    for service in Service.objects.all():
        assert service.application.redirect_uris.isascii(), service.application.redirect_uris
        assert service.website.isascii(), service.website


def test_a_demo_seeded_with_accented_uris_is_put_right(seeded):
    service = Service.objects.get(name="Mon Psy Écoute")
    application = service.application
    application.redirect_uris = "https://mon-psy-écoute.example/oauth/callback"
    application.save(update_fields=["redirect_uris"])
    Service.objects.filter(pk=service.pk).update(website="https://mon-psy-écoute.example")
    seed_demo(seeded)
    service.refresh_from_db()
    assert service.application.redirect_uris == "https://mon-psy-ecoute.example/oauth/callback"
    assert service.website == "https://mon-psy-ecoute.example"
