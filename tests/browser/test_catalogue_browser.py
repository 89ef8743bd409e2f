"""A whole connection: Camille consents in the browser on the service's consent page; the service (a plain
HTTP client against the live server) completes the OAuth flow with PKCE, writes a weight, reads the
documents it may read, is refused the rest, and is cut off when Camille disconnects it; Camille sees each
call in her access history."""

import datetime
import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome
from playwright.sync_api import Page, expect

from dossier.enums import DocumentCategory
from profil.models import Measure
from tests.browser.test_login_browser import _patient_logs_in
from tests.catalogue.helpers import REDIRECT_URI, authorize_url, make_service, pkce
from tests.catalogue.test_api import add_document

pytestmark = pytest.mark.browser
FHIR = "application/fhir+json; charset=utf-8"


def test_patient_consents_service_exchanges_then_is_cut_off(
    page: Page, live_server, browser_personas, mailoutbox, settings
):
    settings.SITE_URL = live_server.url  # the public address: tokens' audience, links of the FHIR server
    camille = browser_personas.camille
    service = make_service("Tensio Connect")
    biology = add_document(camille, title="Bilan lipidique", category=DocumentCategory.BIOLOGIE)
    add_document(camille, title="Ordonnance kiné", category=DocumentCategory.ORDONNANCES)

    # The browser never leaves for the service's site: its callback is answered here.
    callbacks = []

    def callback(route):
        callbacks.append(route.request.url)
        route.fulfill(status=200, body="Service connecte", content_type="text/plain")

    page.route(re.compile(r"^https://tensio\.example/.*"), callback)

    _patient_logs_in(page, "camille.lefevre", mailoutbox)
    verifier, challenge = pkce()
    page.goto(authorize_url(service, challenge))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connecter Tensio Connect au profil de Camille Lefèvre")
    # The service asked for measures:write and documents:read: those purposes come pre-ticked.
    expect(page.get_by_role("checkbox", name=re.compile("Importer mes mesures"))).to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("Consulter mes documents"))).to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("Partager mes rendez-vous"))).not_to_be_checked()
    page.get_by_role("button", name="Autoriser").click()
    expect(page.get_by_text("Service connecte")).to_be_visible()
    query = parse_qs(urlparse(callbacks[-1]).query)
    assert callbacks[-1].startswith(REDIRECT_URI) and query["state"] == ["etat-42"]

    # The service's back end: code + verifier for tokens, against the live server.
    http = requests.Session()
    response = http.post(
        f"{live_server.url}/oauth/token/",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "client_id": service.oauth_client_id,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    api = f"{live_server.url}/api/v1"

    weight = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "subject": {"reference": f"Patient/{camille.public_id}"},
        "effectiveDateTime": (timezone.now() - datetime.timedelta(minutes=30)).isoformat(),
        "valueQuantity": {"value": 63.2, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }
    response = http.post(f"{api}/Observation", json=weight, headers={"Content-Type": FHIR}, timeout=10)
    assert response.status_code == 201, response.text
    Observation.model_validate(response.json())
    assert Measure.objects.filter(patient=camille, source__isnull=False).count() == 1

    response = http.get(f"{api}/DocumentReference", timeout=10)
    bundle = Bundle.model_validate(response.json())
    assert [entry.resource.id for entry in bundle.entry] == [str(biology.public_id)]
    binary_url = response.json()["entry"][0]["resource"]["content"][0]["attachment"]["url"]
    assert http.get(binary_url, timeout=10).content.startswith(b"%PDF")

    # Outside the consented purposes: agenda not granted, measures not readable.
    for url in (f"{api}/Appointment", f"{api}/Observation"):
        response = http.get(url, timeout=10)
        assert response.status_code == 403
        OperationOutcome.model_validate(response.json())

    # Camille disconnects the service: cut off at once.
    page.goto("/catalogue/mes-services/")
    expect(page.get_by_text("ajouter des mesures")).to_be_visible()
    page.get_by_role("button", name="Déconnecter Tensio Connect").click()
    expect(page.get_by_text("Tensio Connect est déconnecté")).to_be_visible()
    response = http.get(f"{api}/DocumentReference", timeout=10)
    assert response.status_code == 401
    OperationOutcome.model_validate(response.json())
    response = http.post(
        f"{live_server.url}/oauth/token/",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": service.oauth_client_id,
        },
        timeout=10,
    )
    assert response.status_code == 400

    # Every call is in the access history, under "Liens de partage et services".
    page.goto("/documents/historique/?onglet=autres")
    rows = page.get_by_role("row").filter(has_text="Tensio Connect")
    expect(rows.filter(has_text="a ajouté une mesure")).to_have_count(1)  # traced like her own measures
    expect(rows.filter(has_text="a consulté des données par l’API des services connectés")).to_have_count(2)
    expect(rows.filter(has_text="s’est vu refuser un accès par l’API des services connectés")).to_have_count(3)
