"""The patient's pages: browse and filter, detail, connect, report, connected services, disconnect."""

import pytest

from catalogue.demo import seed_demo
from catalogue.enums import ConnectionStatus, ServiceStatus
from catalogue.models import Connection, Service, ServiceReport
from tests.catalogue.helpers import make_service, purpose_ids


@pytest.fixture
def camille(client, session_as):
    session_as(client, "camille")
    return client


def test_browse_search_and_filters(personas, camille, django_assert_max_num_queries):
    seed_demo(personas)
    seed_demo(personas)  # idempotent
    assert Service.objects.count() == 12
    with django_assert_max_num_queries(12):
        response = camille.get("/catalogue/")
    assert response.status_code == 200
    assert "12 services trouvés" in response.content.decode()
    page = camille.get("/catalogue/", {"q": "tension"}).content.decode()
    assert "Tensio Suivi" in page and "Doctolien" not in page
    page = camille.get("/catalogue/", {"category": "rendez_vous"}).content.decode()
    assert "Doctolien" in page and "Tensio Suivi" not in page
    page = camille.get("/catalogue/", {"region": "occ"}).content.decode()
    assert "RDV Santé Occitanie" in page and "Aidant Connect" not in page and "Doctolien" in page
    Service.objects.filter(name="Doctolien").update(status=ServiceStatus.SUSPENDED)
    assert "Doctolien" not in camille.get("/catalogue/").content.decode()


def test_connect_from_detail_then_manage(personas, camille):
    service = make_service()
    page = camille.get(f"/catalogue/services/{service.public_id}/").content.decode()
    assert "Importer mes mesures" in page and "Connecter ce service" in page
    response = camille.post(f"/catalogue/services/{service.public_id}/connecter/", {"purposes": []})
    assert response.status_code == 302 and not Connection.objects.exists()
    response = camille.post(
        f"/catalogue/services/{service.public_id}/connecter/",
        {"purposes": purpose_ids(service, "Importer mes mesures")},
    )
    assert response["Location"] == "/catalogue/mes-services/"
    page = camille.get("/catalogue/mes-services/").content.decode()
    assert service.name in page and "ajouter des mesures" in page
    connection = Connection.objects.get()
    response = camille.post(f"/catalogue/mes-services/{connection.public_id}/deconnecter/")
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert "Aucun service n’est connecté" in camille.get("/catalogue/mes-services/").content.decode()


def test_someone_elses_connection_is_not_found(personas, camille):
    from django.test import Client

    service = make_service()
    other = Client()

    julien_connection = Connection.objects.create(
        service=service, patient=personas.julien, connected_by=personas.julien.user
    )
    response = camille.post(f"/catalogue/mes-services/{julien_connection.public_id}/deconnecter/")
    assert response.status_code == 404
    julien_connection.refresh_from_db()
    assert julien_connection.status == ConnectionStatus.ACTIVE
    assert other.get("/catalogue/").status_code == 302


def test_report_form(personas, camille):
    service = make_service()
    url = f"/catalogue/services/{service.public_id}/signaler/"
    response = camille.post(url, {"reason": "", "message": ""})
    assert "Choisissez le motif du signalement." in response.content.decode()
    response = camille.post(url, {"reason": "fonctionnement", "message": "La synchronisation échoue."})
    assert response.status_code == 302
    assert ServiceReport.objects.get().reason == "fonctionnement"


def test_dereferenced_service_is_gone(personas, camille):
    service = make_service(status=ServiceStatus.DEREFERENCED)
    assert camille.get(f"/catalogue/services/{service.public_id}/").status_code == 404
