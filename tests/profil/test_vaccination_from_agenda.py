"""A vaccination marked done in the prevention calendar lands in the medical profile in one step."""

import datetime

import pytest

from agenda import prevention
from agenda.services import profile_vaccination_available, vaccination_record_in_profile
from espace_sante.access.actor import Actor
from profil.enums import Section
from profil.models import ProfileEntry

pytestmark = pytest.mark.django_db


def test_vaccination_marked_done_is_recorded_in_the_profile(personas):
    assert profile_vaccination_available()
    rule = next(rule for rule in prevention.RULES_BY_CODE.values() if rule.is_vaccination)
    actor = Actor.for_user(personas.camille.user, verified=True)
    entry = vaccination_record_in_profile(
        patient=personas.camille, rule_code=rule.code, done_on=datetime.date(2026, 10, 1), by=actor
    )
    stored = ProfileEntry.objects.get(pk=entry.pk)
    assert stored.section == Section.VACCINATIONS
    assert stored.values["name"] == rule.vaccine and stored.values["date"] == "2026-10-01"
