"""Professionals cannot enumerate the registry by NIR and birth date (/pro/patients/ and the messagerie's search).

The NIR gives the year and month of birth, so at most 31 tries (62 for an INS with an unknown month) find a
date of birth. Each professional has one lookup budget shared by both searches; a lookup that finds nobody
counts, finding the same patient again refunds nothing; and people without an active space get the very answer
of a NIR that matches nobody.
"""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from activation.enums import OppositionChannel, SpaceStatus
from activation.models import HealthSpace
from activation.services.enrolment import opposition_record
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

RECORD_SEARCH = "pro_search"
MESSAGING_SEARCH = "messagerie_pro:search"
NOT_FOUND = {
    RECORD_SEARCH: "Aucun dossier médical ne correspond à ce numéro et à cette date de naissance.",
    MESSAGING_SEARCH: "Aucun patient ne correspond à ce numéro et à cette date de naissance.",
}
THROTTLED = "Trop de recherches de patients sans résultat"
FREE_LOOKUPS = 10  # settings.PATIENT_LOOKUP_THROTTLE["free_attempts"]


def _lookup(client, url_name: str, nir: str, birth_date: datetime.date):
    return client.post(reverse(url_name), {"nir": nir, "birth_date": birth_date.isoformat()})


def _wrong_dates(patient):
    """Every other day of the month the NIR gives: what an enumeration tries."""
    born = patient.birth_date
    return [born.replace(day=day) for day in range(1, 29) if day != born.day]


def test_failed_lookups_spend_the_professionals_budget_shared_by_both_searches(client, login_as, personas):
    camille = personas.camille
    login_as(client, "kine_bernard")
    for birth_date in _wrong_dates(camille)[:FREE_LOOKUPS]:
        response = _lookup(client, RECORD_SEARCH, camille.nir, birth_date)
        assert response.status_code == 200 and NOT_FOUND[RECORD_SEARCH] in response.content.decode()

    # The right date now: refused before any lookup, with a clear French message.
    response = _lookup(client, RECORD_SEARCH, camille.nir, camille.birth_date)
    assert response.status_code == 200
    page = response.content.decode()
    assert THROTTLED in page and "réessayez dans 1 minute" in page
    assert "Camille" not in page
    response = _lookup(client, MESSAGING_SEARCH, camille.nir, camille.birth_date)
    assert response.status_code == 200 and THROTTLED in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.PATIENT_SEARCHED, data__throttled=True).count() == 2

    # Per professional: a colleague is not slowed down.
    other = Client()
    login_as(other, "pharmacien_leroy")
    response = _lookup(other, RECORD_SEARCH, camille.nir, camille.birth_date)
    assert response.status_code == 302


def test_finding_a_known_patient_again_does_not_buy_more_guesses(client, login_as, personas):
    """An enumerator alternating their own patient with guesses: only the first find gives its attempt back."""
    camille, leo = personas.camille, personas.leo
    login_as(client, "dr_martin")
    guesses = iter(_wrong_dates(leo))
    for _ in range(5):
        assert _lookup(client, RECORD_SEARCH, camille.nir, camille.birth_date).status_code == 302
        assert NOT_FOUND[RECORD_SEARCH] in _lookup(client, RECORD_SEARCH, leo.nir, next(guesses)).content.decode()
    assert NOT_FOUND[RECORD_SEARCH] in _lookup(client, RECORD_SEARCH, leo.nir, next(guesses)).content.decode()
    response = _lookup(client, RECORD_SEARCH, leo.nir, leo.birth_date)
    assert response.status_code == 200 and THROTTLED in response.content.decode()


def test_a_busy_day_of_real_patients_is_not_slowed(client, login_as, personas):
    """Finding a patient gives its attempt back the first time: a pharmacist serving the counter, with a few
    typos, is never slowed down by the patients they do find."""
    login_as(client, "pharmacien_leroy")
    typos = iter(_wrong_dates(personas.camille))
    for _ in range(FREE_LOOKUPS - 2):
        assert (
            NOT_FOUND[RECORD_SEARCH]
            in _lookup(client, RECORD_SEARCH, personas.camille.nir, next(typos)).content.decode()
        )
    for patient in (personas.camille, personas.julien, personas.leo, personas.sophie, personas.bernard):
        assert _lookup(client, RECORD_SEARCH, patient.nir, patient.birth_date).status_code == 302
    last_typo = _lookup(client, RECORD_SEARCH, personas.camille.nir, next(typos)).content.decode()
    assert NOT_FOUND[RECORD_SEARCH] in last_typo and THROTTLED not in last_typo


@pytest.fixture
def without_active_space(personas, informed):
    """People the searches must not reveal: a child still « informé » (Emma), an adult who closed their space
    (Julien), a person who opposed."""
    HealthSpace.objects.filter(patient=personas.julien).update(status=SpaceStatus.CLOSED)
    opposed, _ = informed(email="opposant@example.org", order=9, birth=datetime.date(1979, 11, 23))
    opposition_record(patient=opposed, channel=OppositionChannel.PHONE, by=Actor.anonymous(), code=None)
    return [personas.emma, personas.julien, opposed]


@pytest.mark.parametrize("url_name", [RECORD_SEARCH, MESSAGING_SEARCH])
def test_people_without_an_active_space_are_answered_like_nobody(client, login_as, personas, url_name, request):
    people = request.getfixturevalue("without_active_space")
    login_as(client, "dr_martin")
    for person in people:
        response = _lookup(client, url_name, person.nir, person.birth_date)
        assert response.status_code == 200, person
        page = response.content.decode()
        assert NOT_FOUND[url_name] in page, person
        assert person.first_name not in page and "messagerie active" not in page
        compose = client.get(reverse("messagerie_pro:compose", args=[person.public_id]))
        record = client.get(reverse("pro_record", args=[person.public_id]))
        assert compose.status_code == 404 and record.status_code == 404
    found = AuditEvent.objects.filter(action=Action.PATIENT_SEARCHED, data__found=True)
    assert not found.exists()
