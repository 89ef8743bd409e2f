"""PDF rendering has a per-person budget: directives (rendered in the web worker) slow down after a few
documents, and one synthesis at a time may wait for the Celery worker. Refusals are French and render nothing."""

import pytest
from django.urls import reverse

from dossier.models import Document
from profil import services
from tests.profil.test_entourage import DIRECTIVES

pytestmark = pytest.mark.django_db


def _directives(patient):
    return Document.objects.filter(patient=patient, category="directives")


def test_directives_slow_down_after_a_few_documents(client, as_patient):
    patient = as_patient("camille")
    free = services.DIRECTIVES_THROTTLE.free_attempts
    for _ in range(free):
        assert client.post(reverse("profil:directives"), DIRECTIVES).status_code == 302
    assert _directives(patient).count() == free

    response = client.post(reverse("profil:directives"), DIRECTIVES)
    assert response.status_code == 200
    page = response.content.decode()
    assert "plusieurs fois en peu de temps" in page and "Réessayez dans" in page
    assert _directives(patient).count() == free


def test_one_synthesis_at_a_time_per_person(client, as_patient, django_capture_on_commit_callbacks):
    patient = as_patient("camille")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert client.post(reverse("profil:synthesis"), {"sections": ["allergies"]}).status_code == 302
        # Still waiting for the worker: a second request (or a burst of them) queues nothing.
        for _ in range(5):
            response = client.post(reverse("profil:synthesis"), {"sections": ["allergies", "vaccinations"]})
            assert response.status_code == 200
            assert "Une synthèse est déjà en préparation" in response.content.decode()
    assert len(queued) == 1

    queued[0]()  # the worker renders it, then the person may ask again
    assert Document.objects.filter(patient=patient, category="synthese_medicale").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("profil:synthesis"), {"sections": ["allergies"]}).status_code == 302
    assert Document.objects.filter(patient=patient, category="synthese_medicale").count() == 2


def test_a_parent_shares_one_place_across_the_profiles_they_manage(
    client, personas, session_as, django_capture_on_commit_callbacks
):
    from espace_sante.access.middleware import SESSION_ACTING_FOR

    session_as(client, "julien")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert client.post(reverse("profil:synthesis"), {"sections": ["allergies"]}).status_code == 302
        session = client.session
        session[SESSION_ACTING_FOR] = personas.leo.pk
        session.save()
        response = client.post(reverse("profil:synthesis"), {"sections": ["allergies"]})
        assert "Une synthèse est déjà en préparation" in response.content.decode()
    assert len(queued) == 1


def test_syntheses_slow_down_after_a_few(client, as_patient, django_capture_on_commit_callbacks):
    as_patient("camille")
    free = services.SYNTHESIS_THROTTLE.free_attempts
    for _ in range(free):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(reverse("profil:synthesis"), {"sections": ["allergies"]}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(reverse("profil:synthesis"), {"sections": ["allergies"]})
    assert response.status_code == 200 and "Réessayez dans" in response.content.decode()
    assert queued == []
    # The refused request did not keep the place: once the delay is over the person may ask again.
    services.SYNTHESIS_THROTTLE.reset(str(client.session["_auth_user_id"]))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("profil:synthesis"), {"sections": ["allergies"]}).status_code == 302
