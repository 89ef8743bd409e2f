"""Vendor registration: the referencing staff (admin) and operators (manage.py client_oauth_service) create a
service's OAuth client, public or confidential with private_key_jwt keys, with checked redirect URIs and
origins, and rotate it (new client_id, every old token revoked), audited (catalogue/oauth_clients.py)."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from joserfc.jwk import RSAKey
from oauth2_provider.models import get_application_model

from accounts import services as account_services
from accounts.enums import Organisation, UserKind
from accounts.models import Agent
from catalogue.oauth_clients import ClientSettings, client_settings_check, oauth_client_set
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.catalogue.helpers import REDIRECT_URI, connect_and_get_tokens, make_service

pytestmark = pytest.mark.django_db

Application = get_application_model()


@pytest.fixture
def referencing(personas, client, session_as):
    user = account_services.user_create(
        username="agent.referencement",
        kind=UserKind.AGENT,
        email="agent.referencement@assurance-maladie.example",
        first_name="Inès",
        last_name="Référence",
        password="Agent-Test-2026!",
        is_staff=True,
    )
    user.groups.add(Group.objects.get(name="Référencement"))
    account_services.totp_device_add(user=user, key_hex="0a" * 20)
    Agent.objects.create(user=user, organisation=Organisation.FRANCE_SERVICES, organisation_name="Test")
    session_as(client, user)
    return client


def _public_jwks() -> dict:
    return {"keys": [RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True).as_dict(private=False)]}


def test_the_referencing_staff_registers_a_confidential_client_with_its_keys(referencing):
    service = make_service()
    url = reverse("admin:catalogue_service_oauth_client", args=[service.pk])
    page = referencing.get(url).content.decode()
    assert service.oauth_client_id in page
    jwks = _public_jwks()
    response = referencing.post(
        url,
        {
            "confidential": "1",
            "redirect_uris": "https://tensio.example/oauth/callback\nhttps://tensio.example/autre",
            "allowed_origins": "https://app.tensio.example",
            "jwks": json.dumps(jwks),
        },
        follow=True,
    )
    assert response.status_code == 200
    service.refresh_from_db()
    application = service.application
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.redirect_uris.split() == [
        "https://tensio.example/oauth/callback",
        "https://tensio.example/autre",
    ]
    assert application.allowed_origins == "https://app.tensio.example"
    assert service.oauth_jwks == jwks
    assert service.oauth_client_id in response.content.decode()  # shown once created; no secret exists
    event = AuditEvent.objects.get(action=Action.SERVICE_OAUTH_CLIENT_SET)
    assert event.data["client_type"] == "confidential" and event.data["keys"] == "document"


@pytest.mark.parametrize(
    ("wanted", "field"),
    [
        (ClientSettings(confidential=False, redirect_uris=["http://tensio.example/cb"]), "redirect_uris"),
        (ClientSettings(confidential=False, redirect_uris=["https://tensio.example/cb#x"]), "redirect_uris"),
        (ClientSettings(confidential=False, redirect_uris=["https://*.tensio.example/cb"]), "redirect_uris"),
        (ClientSettings(confidential=False, redirect_uris=["https://user:pw@tensio.example/cb"]), "redirect_uris"),
        (ClientSettings(confidential=False, redirect_uris=["https://tensio-é.example/cb"]), "redirect_uris"),
        (ClientSettings(confidential=False, redirect_uris=[]), "redirect_uris"),
        (ClientSettings(confidential=False, redirect_uris=[REDIRECT_URI], allowed_origins=["*"]), "allowed_origins"),
        (ClientSettings(confidential=False, redirect_uris=[REDIRECT_URI], allowed_origins=["https://a.example/x"]),
         "allowed_origins"),
        (ClientSettings(confidential=True, redirect_uris=[REDIRECT_URI]), "jwks"),
        (ClientSettings(confidential=True, redirect_uris=[REDIRECT_URI], jwks={"keys": []}), "jwks"),
        (ClientSettings(confidential=False, redirect_uris=[REDIRECT_URI], jwks_uri="https://t.example/jwks"), "jwks"),
        (ClientSettings(confidential=True, redirect_uris=[REDIRECT_URI], jwks_uri="http://t.example/k"), "jwks_uri"),
    ],
)  # fmt: skip
def test_client_settings_are_checked(wanted, field):
    with pytest.raises(ValidationError) as refused:
        client_settings_check(wanted)
    assert field in refused.value.message_dict


def test_a_private_key_is_never_registered():
    key = RSAKey.generate_key(2048, private=True)
    with pytest.raises(ValidationError) as refused:
        client_settings_check(
            ClientSettings(confidential=True, redirect_uris=[REDIRECT_URI], jwks={"keys": [key.as_dict(private=True)]})
        )
    assert "clé privée" in " ".join(refused.value.messages)


def test_loopback_http_only_where_http_is_allowed(settings):
    loopback = ClientSettings(confidential=False, redirect_uris=["http://127.0.0.1:8765/callback"])
    client_settings_check(loopback)  # dev and tests
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ALLOWED_REDIRECT_URI_SCHEMES": ["https"]}
    with pytest.raises(ValidationError):
        client_settings_check(loopback)  # production


def test_an_invalid_client_form_shows_french_errors_and_changes_nothing(referencing):
    service = make_service()
    before = service.application.redirect_uris
    response = referencing.post(
        reverse("admin:catalogue_service_oauth_client", args=[service.pk]),
        {"confidential": "0", "redirect_uris": "http://tensio.example/cb"},
    )
    assert response.status_code == 200 and "doit commencer par https://" in response.content.decode()
    service.refresh_from_db()
    assert service.application.redirect_uris == before
    assert not AuditEvent.objects.filter(action=Action.SERVICE_OAUTH_CLIENT_SET).exists()


def test_rotation_revokes_every_old_token_and_the_old_client_id(personas, referencing, login_as):
    service = make_service()
    patient = Client()
    login_as(patient, "camille")
    tokens = connect_and_get_tokens(patient, Client(), service, ("Consulter mes mesures",))
    old_client_id = service.oauth_client_id
    url = reverse("admin:catalogue_service_oauth_rotate", args=[service.pk])
    assert referencing.get(url).status_code == 200
    assert referencing.post(url, {}).status_code == 200  # not confirmed: nothing happens
    service.refresh_from_db()
    assert service.oauth_client_id == old_client_id
    assert referencing.post(url, {"confirm": "on"}).status_code == 302
    service.refresh_from_db()
    assert service.oauth_client_id != old_client_id
    api = Client()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    assert api.get("/api/v1/Observation", **bearer).status_code == 401
    refresh = api.post(
        "/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": old_client_id},
    )
    assert refresh.status_code in (400, 401)
    event = AuditEvent.objects.get(action=Action.SERVICE_OAUTH_CLIENT_ROTATED)
    assert event.data["tokens_revoked"] == 1 and "Inès" in event.actor_label
    # The patient's connection stays: the service asks again with its new client_id.
    tokens = connect_and_get_tokens(patient, Client(), service, ("Consulter mes mesures",))
    assert api.get("/api/v1/Observation", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 200


def test_the_operator_command_creates_changes_and_rotates(tmp_path, capsys):
    service = make_service()
    jwks_file = tmp_path / "cles.json"
    jwks_file.write_text(json.dumps(_public_jwks()))
    call_command(
        "client_oauth_service",
        service.name,
        "--confidentiel",
        "--jwks",
        str(jwks_file),
        "--redirect-uri",
        "https://tensio.example/retour",
        "--origine",
        "https://app.tensio.example",
    )
    service.refresh_from_db()
    assert service.application.client_type == Application.CLIENT_CONFIDENTIAL
    assert service.application.redirect_uris == "https://tensio.example/retour"
    assert service.oauth_client_id in capsys.readouterr().out
    old = service.oauth_client_id
    call_command("client_oauth_service", service.name, "--renouveler")
    service.refresh_from_db()
    assert service.oauth_client_id != old and service.application.client_type == Application.CLIENT_CONFIDENTIAL
    assert AuditEvent.objects.filter(action=Action.SERVICE_OAUTH_CLIENT_ROTATED, actor_role="system").exists()
    with pytest.raises(CommandError):
        call_command("client_oauth_service", service.name, "--redirect-uri", "http://tensio.example/x")
    with pytest.raises(CommandError):
        call_command("client_oauth_service", "Service inconnu", "--renouveler")


def test_a_public_client_is_created_for_a_service_without_one():
    from catalogue.models import Service

    service = make_service()
    Service.objects.filter(pk=service.pk).update(oauth_client_id=None)
    service.refresh_from_db()
    application = oauth_client_set(
        service=service, settings=ClientSettings(confidential=False, redirect_uris=[REDIRECT_URI]), by=None
    )
    service.refresh_from_db()
    assert service.oauth_client_id == application.client_id and application.algorithm == "RS256"
    assert application.client_type == Application.CLIENT_PUBLIC
