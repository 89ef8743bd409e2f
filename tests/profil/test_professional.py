"""What professionals see of the profile: exactly the shared sections, traced; nothing without record access."""

import pytest
from django.urls import reverse

from dossier.views.pro import SESSION_SEARCHED
from espace_sante.access.actor import Actor
from espace_sante.audit.models import AuditEvent
from profil import services
from profil.sections import SECTIONS, SHARED_SECTIONS
from tests.profil.test_sections import VALID

SHARED = {"maladies", "hospitalisations", "allergies", "vaccinations"}


def test_the_shared_sections_are_exactly_those_of_the_issue():
    assert set(SHARED_SECTIONS) == SHARED


@pytest.fixture
def camille_profile(personas):
    by = Actor.for_user(personas.camille.user, verified=True)
    for key, data in VALID.items():
        form = SECTIONS[key].form(data)
        assert form.is_valid(), form.errors
        services.entry_save(patient=personas.camille, definition=SECTIONS[key], values=form.values(), by=by)
    return personas.camille


def _search(client, patient):
    session = client.session
    session[SESSION_SEARCHED] = [str(patient.public_id)]
    session.save()


def test_the_medecin_traitant_sees_exactly_the_shared_sections(client, session_as, camille_profile):
    session_as(client, "dr_martin")
    _search(client, camille_profile)
    response = client.get(reverse("pro_profil", args=[camille_profile.public_id]))
    assert response.status_code == 200
    page = response.content.decode()
    for key, data in VALID.items():
        shown = data.get("name", "") in page if data.get("name") else None
        if key in SHARED:
            assert SECTIONS[key].label in page and shown, key
        else:
            assert SECTIONS[key].label not in page, key
            if shown is not None:
                assert not shown, key
    assert "Directives anticipées" in page
    event = AuditEvent.objects.filter(patient=camille_profile, action="profil.viewed").get()
    assert event.actor_user == camille_profile.medecin_traitant.user


def test_a_professional_without_access_gets_404_and_a_trace(client, session_as, camille_profile):
    session_as(client, "pharmacien_leroy")
    _search(client, camille_profile)
    assert client.get(reverse("pro_profil", args=[camille_profile.public_id])).status_code == 404
    assert AuditEvent.objects.filter(patient=camille_profile, action="access.denied").exists()
    assert not AuditEvent.objects.filter(patient=camille_profile, action="profil.viewed").exists()


def test_a_patient_not_searched_in_this_session_is_404(client, session_as, camille_profile):
    session_as(client, "dr_martin")
    assert client.get(reverse("pro_profil", args=[camille_profile.public_id])).status_code == 404


def test_a_blocked_professional_sees_nothing(client, session_as, camille_profile, personas):
    from dossier.services import professional_block

    professional_block(
        patient=camille_profile,
        professional=personas.dr_martin,
        by=Actor.for_user(camille_profile.user, verified=True),
        blocked=True,
    )
    session_as(client, "dr_martin")
    _search(client, camille_profile)
    assert client.get(reverse("pro_profil", args=[camille_profile.public_id])).status_code == 404


def test_the_professionals_view_is_in_the_patient_access_history(client, session_as, camille_profile):
    session_as(client, "dr_martin")
    _search(client, camille_profile)
    client.get(reverse("pro_profil", args=[camille_profile.public_id]))
    client.logout()
    session_as(client, "camille")
    assert "a consulté le profil médical" in client.get(reverse("dossier:access_history")).content.decode()
