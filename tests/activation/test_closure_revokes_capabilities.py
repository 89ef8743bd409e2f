"""Issue 15, item 12: closure, death and deletion revoke every capability URL of the space, once and for all.

A share link (and its QR code), the private agenda feed and a connected service's OAuth tokens all work
without a session: each is a secret in a URL or a header. They worked before; after the space is closed (by
the patient, on a death recorded by an agent, or with a deletion request carried out), each answers 404 or
401, and reopening the space does not bring them back.
"""

import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from activation.enums import SpaceStatus
from activation.models import HealthSpace
from agenda import services as agenda_services
from agenda.models import AgendaSettings
from catalogue.enums import ConnectionStatus
from catalogue.models import Connection
from dossier.models import ShareLink
from tests.accounts.reauth import mark_recently_authenticated
from tests.agenda.helpers import actor_for
from tests.catalogue.helpers import connect_and_get_tokens, make_service
from tests.conftest import agent_finds, login_agent
from tests.dossier.factories import PDF, make_document

pytestmark = pytest.mark.django_db


def _capabilities(client, patient) -> SimpleNamespace:
    """Everything a stranger, a calendar application and a connected service hold, checked to work."""
    document = make_document(patient, title="Ordonnance à montrer")
    page = client.post(reverse("dossier:document_share", args=[document.public_id]), {"hours": 72})
    html = page.content.decode()
    share = html.split('id="share-url" type="text" readonly value="')[1].split('"')[0].replace("http://testserver", "")
    feed = reverse("agenda:feed", args=[agenda_services.feed_renew(by=actor_for(patient))])
    service = make_service()
    tokens = connect_and_get_tokens(client, Client(), service, ("Consulter mes documents",))
    held = SimpleNamespace(share=share, feed=feed, tokens=tokens, service=service)
    _assert_working(held)
    return held


def _api(held):
    return Client().get("/api/v1/DocumentReference", HTTP_AUTHORIZATION=f"Bearer {held.tokens['access_token']}")


def _assert_working(held) -> None:
    stranger = Client()
    assert stranger.get(held.share).status_code == 200
    assert stranger.get(held.share + "fichier/").content == PDF
    assert stranger.get(held.feed).status_code == 200
    assert _api(held).status_code == 200


def _assert_revoked(held) -> None:
    stranger = Client()
    page = stranger.get(held.share)
    assert page.status_code == 404 and "Ordonnance à montrer" not in page.content.decode()
    assert stranger.get(held.share + "fichier/").status_code == 404
    assert stranger.get(held.feed).status_code == 404
    assert _api(held).status_code == 401
    refreshed = Client().post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": held.tokens["refresh_token"],
            "client_id": held.service.oauth_client_id,
        },
    )
    assert refreshed.status_code == 400


def _assert_revoked_in_the_database(patient) -> None:
    assert not ShareLink.objects.filter(document__patient=patient, revoked_at__isnull=True).exists()
    assert not Connection.objects.filter(patient=patient).exclude(status=ConnectionStatus.DISCONNECTED).exists()
    assert not AgendaSettings.objects.filter(patient=patient).exclude(feed_token_hash="").exists()


def _close(client, *, delete: bool):
    mark_recently_authenticated(client)
    data = {"confirm": "on"}
    if delete:
        data["delete_data"] = "on"
    response = client.post(reverse("activation:close"), data)
    assert response.status_code == 302 and response.url == reverse("activation:closed")


def test_closure_by_the_patient_revokes_them_and_reopening_does_not_bring_them_back(client, login_as, personas):
    login_as(client, "camille")
    held = _capabilities(client, personas.camille)
    _close(client, delete=False)
    _assert_revoked(held)
    _assert_revoked_in_the_database(personas.camille)
    response = client.post(reverse("activation:closed"), {"password": DEMO_PASSWORD})
    assert HealthSpace.objects.get(patient=personas.camille).status == SpaceStatus.ACTIVE, response
    stranger = Client()
    assert stranger.get(held.share + "fichier/").status_code == 404
    assert stranger.get(held.share).status_code != 200
    assert stranger.get(held.feed).status_code == 404
    assert _api(held).status_code == 401


def test_a_death_recorded_by_an_agent_revokes_them(client, login_as, personas):
    login_as(client, "camille")
    held = _capabilities(client, personas.camille)
    agent = Client()
    login_agent(agent, personas.agent_cpam.user)
    agent_finds(agent, personas.camille)
    agent.post(reverse("admin:patient_death", args=[personas.camille.pk]), {"confirm": "on", "died_on": "01/11/2026"})
    assert HealthSpace.objects.get(patient=personas.camille).status == SpaceStatus.CLOSED
    _assert_revoked(held)
    _assert_revoked_in_the_database(personas.camille)


def test_a_deletion_request_revokes_them_at_closure_and_after_the_purge(client, login_as, personas):
    login_as(client, "camille")
    held = _capabilities(client, personas.camille)
    _close(client, delete=True)
    _assert_revoked(held)
    call_command("traiter_suppressions", stdout=io.StringIO())
    assert HealthSpace.objects.get(patient=personas.camille).status == SpaceStatus.DELETED
    _assert_revoked(held)


def test_closing_a_space_revoked_before_this_rule_still_serves_nothing(client, login_as, personas):
    """A space closed directly in the database (as before the revocation existed): the serving paths check
    the space themselves, so a live link row does not reopen the document."""
    login_as(client, "camille")
    held = _capabilities(client, personas.camille)
    HealthSpace.objects.filter(patient=personas.camille).update(status=SpaceStatus.CLOSED)
    stranger = Client()
    assert stranger.get(held.share).status_code == 404
    assert stranger.get(held.share + "fichier/").status_code == 404
    assert stranger.get(held.feed).status_code == 404
    assert _api(held).status_code in (401, 403)
