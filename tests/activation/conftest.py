import datetime

import pytest
from django.utils import timezone

from accounts.enums import Sex, VitaleCardType
from accounts.models import Patient
from activation.enums import CodeChannel
from activation.models import HealthSpace
from activation.services.enrolment import code_issue
from tests.activation.factories import nir_for

SERIAL = "80250000021112223334"


@pytest.fixture
def informed(db):
    """An adult informed today, with a valid code: returns (patient, clear code)."""

    def make(*, email="jeanne.martin@example.org", order=1, holder=None, birth=datetime.date(1990, 4, 2)):
        patient = Patient.objects.create(
            nir=nir_for(sex=2, year=birth.year, month=birth.month, order=order),
            birth_name="Martin",
            first_names="Jeanne Alice",
            birth_date=birth,
            sex=Sex.FEMALE,
            birth_place_insee="31555",
            email=email,
            phone="0611223344",
            address_line="3 place du Capitole",
            postal_code="31000",
            city="Toulouse",
            vitale_card_type=VitaleCardType.WITH_PHOTO if holder is None else "",
            vitale_serial=SERIAL if holder is None else "",
            card_holder=holder,
        )
        HealthSpace.objects.create(patient=patient, informed_at=timezone.now())
        _, code = code_issue(patient=patient, channel=CodeChannel.EMAIL)
        return patient, code

    return make
