"""The SMART on FHIR client library `fhirclient`, unchanged, against the live server: discovery from the
CapabilityStatement, authorization with Camille's consent in a real browser, search with paging through more
than 250 observations (her own measures and a service's), read, create, refresh, revocation.

Every FHIR body the server sends here is also validated by FHIR.js (tests/conftest.py)."""

import datetime
import re
from decimal import Decimal

import pytest
import requests
from django.utils import timezone
from fhirclient import client as smart_client
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRUnauthorizedException
from playwright.sync_api import Page, expect

from profil.models import Measure
from tests.browser.test_login_browser import _patient_logs_in
from tests.catalogue.helpers import REDIRECT_URI, make_service

pytestmark = pytest.mark.browser
OWN, SENT = 140, 120  # more than 250 in all: three pages of 100


def _measures(camille, service) -> None:
    now = timezone.now()
    Measure.objects.bulk_create(
        Measure(
            patient=camille,
            kind="poids",
            value=Decimal("60") + Decimal(index % 50) / 10,
            measured_on=(now - datetime.timedelta(days=index + 1)).date(),
            measured_at=None if index < OWN else now - datetime.timedelta(days=index + 1),
            source=None if index < OWN else service,
        )
        for index in range(OWN + SENT)
    )


def test_fhirclient_discovers_authorizes_pages_reads_writes_refreshes(
    page: Page, live_server, browser_personas, mailoutbox, settings
):
    settings.SITE_URL = live_server.url  # the public address the tokens' audience and the links name
    camille = browser_personas.camille
    service = make_service("Tensio SMART")
    _measures(camille, service)

    smart = smart_client.FHIRClient(
        settings={
            "app_id": service.oauth_client_id,
            "api_base": f"{live_server.url}/api/v1",
            "redirect_uri": REDIRECT_URI,
            "scope": "openid fhirUser offline_access patient/Observation.rs patient/Observation.c",
        }
    )
    assert smart.prepare() is False  # discovery done (authorize and token endpoints), not yet authorized
    authorize_url = smart.authorize_url
    assert authorize_url.startswith(f"{live_server.url}/oauth/authorize/?")
    assert "launch%2Fpatient" in authorize_url and "code_challenge_method=S256" in authorize_url

    callbacks = []

    def callback(route):
        callbacks.append(route.request.url)
        route.fulfill(status=200, body="Service connecte", content_type="text/plain")

    page.route(re.compile(r"^https://tensio\.example/.*"), callback)
    _patient_logs_in(page, "camille.lefevre", mailoutbox)
    page.goto(authorize_url)
    expect(page.get_by_role("checkbox", name=re.compile("Importer mes mesures"))).to_be_checked()
    expect(page.get_by_role("checkbox", name=re.compile("Consulter mes mesures"))).to_be_checked()
    assert "patient/Observation" not in page.content()  # purposes in plain French, never scope strings
    page.get_by_role("button", name="Autoriser").click()
    expect(page.get_by_text("Service connecte")).to_be_visible()

    smart.handle_callback(callbacks[-1])
    assert smart.ready
    assert smart.patient_id == str(camille.public_id)
    patient = smart.patient
    assert isinstance(patient, Patient) and patient.birthDate.isostring == "1985-03-14"

    search = Observation.where(struct={"_count": "100", "code": "http://loinc.org|29463-7"})
    bundles = list(search.perform_iter(smart.server))
    assert [len(bundle.entry) for bundle in bundles] == [100, 100, 60]
    assert {bundle.total for bundle in bundles} == {OWN + SENT}
    found = [entry.resource for bundle in bundles for entry in bundle.entry]
    assert len({observation.id for observation in found}) == OWN + SENT
    assert sum(1 for observation in found if observation.device is not None) == SENT

    one = Observation.read(found[0].id, smart.server)
    assert one.valueQuantity.code == "kg" and one.subject.reference == f"Patient/{camille.public_id}"

    new = Observation(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": f"Patient/{camille.public_id}"},
            "effectiveDateTime": (timezone.now() - datetime.timedelta(minutes=5)).isoformat(),
            "valueQuantity": {"value": 140, "unit": "lb", "system": "http://unitsofmeasure.org", "code": "[lb_av]"},
        }
    )
    created = new.create(smart.server)
    assert created["valueQuantity"]["code"] == "kg" and created["valueQuantity"]["value"] == 63.5
    assert Measure.objects.filter(patient=camille, source=service, value=Decimal("63.5")).exists()

    before = smart.server.auth.access_token
    assert smart.reauthorize() is not None  # refresh token
    assert smart.server.auth.access_token != before
    assert Observation.read(found[1].id, smart.server).id == found[1].id

    revoked = requests.post(
        f"{live_server.url}/oauth/revoke_token/",
        data={"token": smart.server.auth.access_token, "client_id": service.oauth_client_id},
        timeout=10,
    )
    assert revoked.status_code == 200
    with pytest.raises(FHIRUnauthorizedException):
        Observation.read(found[1].id, smart.server)
    # Close the kept-alive connection: its live-server thread would hold a database session past the test.
    smart.server.session.close()
