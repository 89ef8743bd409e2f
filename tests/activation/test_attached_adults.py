"""« Profils rattachés »: holding the Vitale card a person is attached to gives no power over their space.
Only an active representation does (parent of a minor, tutor of a protected adult), decided in the policy."""

import datetime

import pytest
from django.urls import reverse

from accounts import services as accounts_services
from accounts.enums import RepresentationKind
from accounts.models import LegalRepresentation
from activation.enums import OppositionChannel, SpaceStatus
from activation.models import HealthSpace, Opposition
from activation.services.enrolment import opposition_record
from dossier.models import MedicalRecord
from espace_sante.access.actor import Actor
from tests.conftest import login_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def attached_adult(personas, informed):
    """An adult attached to Julien's Vitale card (the registry allows it), informed, without representation."""
    adult, _ = informed(email="", holder=personas.julien, order=7, birth=datetime.date(1984, 5, 3))
    return adult


def test_the_card_holder_cannot_activate_or_oppose_for_an_attached_adult(
    client, personas, attached_adult, mailoutbox, django_capture_on_commit_callbacks
):
    login_patient(client, "julien.moreau", mailoutbox)
    page = client.get(reverse("activation:children")).content.decode()
    assert "Léo Moreau" in page and "Emma Moreau" in page  # his children, whom he represents
    assert attached_adult.display_name not in page

    with django_capture_on_commit_callbacks(execute=True):
        activate = client.post(reverse("activation:child_activate", args=[attached_adult.public_id]))
        oppose = client.post(reverse("activation:child_oppose", args=[attached_adult.public_id]))
    assert activate.status_code == 404 and oppose.status_code == 404
    assert HealthSpace.objects.get(patient=attached_adult).status == SpaceStatus.INFORMED
    assert not Opposition.objects.filter(space__patient=attached_adult).exists()
    assert not MedicalRecord.objects.filter(patient=attached_adult).exists()


def test_the_card_holder_cannot_read_an_attached_adults_opposition_receipt(
    client, personas, attached_adult, mailoutbox
):
    opposition = opposition_record(
        patient=attached_adult, channel=OppositionChannel.PHONE, by=Actor.anonymous(), code=None
    )
    login_patient(client, "julien.moreau", mailoutbox)
    assert client.get(reverse("activation:opposition_receipt", args=[opposition.public_id])).status_code == 404


def test_a_tutor_decides_for_the_protected_adult_attached_to_their_card(client, personas, attached_adult, mailoutbox):
    accounts_services.representation_add(
        representative=personas.julien, represented=attached_adult, kind=RepresentationKind.TUTEUR
    )
    login_patient(client, "julien.moreau", mailoutbox)
    assert attached_adult.display_name in client.get(reverse("activation:children")).content.decode()
    client.post(reverse("activation:child_activate", args=[attached_adult.public_id]))
    assert HealthSpace.objects.get(patient=attached_adult).status == SpaceStatus.ACTIVE


def test_a_parent_representation_ends_with_majority(client, personas, attached_adult, mailoutbox):
    """A parental link left open after the child turned 18 gives no power: parental authority ends then."""
    LegalRepresentation.objects.create(
        representative=personas.julien,
        represented=attached_adult,
        kind=RepresentationKind.PARENT,
        started_on=datetime.date(1984, 5, 3),
    )
    login_patient(client, "julien.moreau", mailoutbox)
    response = client.post(reverse("activation:child_oppose", args=[attached_adult.public_id]))
    assert response.status_code == 404
    assert HealthSpace.objects.get(patient=attached_adult).status == SpaceStatus.INFORMED


def test_an_ended_representation_gives_no_power(client, personas, mailoutbox):
    HealthSpace.objects.filter(patient=personas.leo).update(status=SpaceStatus.INFORMED)
    LegalRepresentation.objects.filter(representative=personas.julien, represented=personas.leo).update(
        ended_on=datetime.date(2020, 1, 1)
    )
    login_patient(client, "julien.moreau", mailoutbox)
    assert client.post(reverse("activation:child_activate", args=[personas.leo.public_id])).status_code == 404
    assert HealthSpace.objects.get(patient=personas.leo).status == SpaceStatus.INFORMED
