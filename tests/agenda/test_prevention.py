"""Prevention calendar: every rule at its boundaries (the day before and the day of each age), sexes, states."""

import datetime

import pytest
from django.urls import reverse

from agenda import prevention
from agenda.enums import PreventionState
from agenda.models import PreventionItem
from tests.agenda.helpers import clock

ONE_DAY = datetime.timedelta(days=1)
BIRTHS = [datetime.date(1990, 1, 15), datetime.date(2000, 2, 29), datetime.date(1985, 1, 31)]
ALL = [(rule, birth) for rule in prevention.RULES for birth in BIRTHS]


def _sex(rule) -> str:
    return rule.sex or "F"


@pytest.mark.parametrize(("rule", "birth"), ALL, ids=[f"{r.code}-{b}" for r, b in ALL])
def test_each_rule_starts_the_day_the_age_is_reached(rule, birth):
    start = rule.start.reached(birth)
    assert rule.code not in prevention.due_on(birth, _sex(rule), start - ONE_DAY)
    assert rule.code in prevention.due_on(birth, _sex(rule), start)


@pytest.mark.parametrize(("rule", "birth"), ALL, ids=[f"{r.code}-{b}" for r, b in ALL])
def test_each_rule_ends_the_day_the_end_age_is_reached(rule, birth):
    end = rule.end.reached(birth)
    assert rule.code in prevention.due_on(birth, _sex(rule), end - ONE_DAY)
    assert rule.code not in prevention.due_on(birth, _sex(rule), end)


def test_every_rule_has_a_reason_and_a_source():
    for rule in prevention.RULES:
        assert rule.reason and rule.source.label and rule.source.url.startswith("https://"), rule.code
        assert rule.start.reached(datetime.date(2000, 1, 1)) < rule.end.reached(datetime.date(2000, 1, 1)), rule.code
        if rule.is_vaccination:
            assert rule.vaccine, rule.code
    assert len(prevention.RULES_BY_CODE) == len(prevention.RULES)


def test_twenty_child_examinations_up_to_16_years():
    exams = [r for r in prevention.RULES if r.category == "child_exam"]
    assert len(exams) == 20
    assert exams[-1].end == prevention.Age(years=17)


@pytest.mark.parametrize(
    ("age", "sex", "expected", "absent"),
    [
        (50, "F", {"depistage-sein-50-ans", "depistage-colorectal-50-ans", "depistage-col-hpv-50-ans"}, set()),
        (50, "M", {"depistage-colorectal-50-ans"}, {"depistage-sein-50-ans", "depistage-col-hpv-50-ans"}),
        (74, "F", {"depistage-sein-74-ans", "depistage-colorectal-74-ans", "bilan-prevention-70-75-ans"}, set()),
        (75, "F", {"vrs-75-ans", "rappel-75-ans", "bilan-prevention-70-75-ans"}, {"depistage-sein-74-ans"}),
        (
            65,
            "M",
            {"grippe-65-ans", "covid-65-ans", "zona-65-ans", "pneumocoque-65-ans", "rappel-65-ans"},
            {"vrs-75-ans"},
        ),
        (25, "F", {"rappel-25-ans", "depistage-col-cytologie-25-ans", "bilan-prevention-18-25-ans"}, set()),
        (29, "F", {"depistage-col-cytologie-29-ans"}, {"depistage-col-hpv-30-ans"}),
        (30, "F", {"depistage-col-hpv-30-ans"}, {"depistage-col-cytologie-29-ans"}),
        (45, "M", {"rappel-45-ans", "bilan-prevention-45-50-ans"}, set()),
        (11, "M", {"rappel-11-13-ans", "hpv-11-14-ans", "meningo-acwy-11-14-ans", "examen-enfant-19"}, set()),
        (6, "F", {"rappel-6-ans", "mt-dents-6-ans", "examen-enfant-17"}, set()),
        (24, "M", {"mt-dents-24-ans", "bilan-prevention-18-25-ans"}, set()),
        (27, "M", set(), {"mt-dents-24-ans", "rappel-25-ans"}),
    ],
)
def test_what_is_due_on_a_birthday(age, sex, expected, absent):
    birth = datetime.date(1960, 5, 10)
    on = birth.replace(year=birth.year + age)
    due = prevention.due_on(birth, sex, on)
    assert expected <= due
    assert not (absent & due)


def test_infant_schedule():
    birth = datetime.date(2027, 1, 31)
    assert prevention.Age(months=1).reached(birth) == datetime.date(2027, 3, 1)  # no 31 February
    assert "vaccins-2-mois" in prevention.due_on(birth, "M", datetime.date(2027, 3, 31))
    assert "vaccins-2-mois" not in prevention.due_on(birth, "M", datetime.date(2027, 3, 30))
    assert "vaccins-16-18-mois" in prevention.due_on(birth, "M", datetime.date(2028, 7, 30))
    assert "examen-enfant-1" in prevention.due_on(birth, "M", birth)
    assert "examen-enfant-1" not in prevention.due_on(birth, "M", birth + 8 * ONE_DAY)


def test_leap_day_birthday_turns_older_on_1_march():
    birth = datetime.date(1976, 2, 29)
    assert "depistage-colorectal-50-ans" not in prevention.due_on(birth, "M", datetime.date(2026, 2, 28))
    assert "depistage-colorectal-50-ans" in prevention.due_on(birth, "M", datetime.date(2026, 3, 1))


@pytest.mark.django_db
def test_patient_sets_a_state_and_can_turn_suggestions_off(client, session_as, personas):
    session_as(client, "camille")  # born 14 March 1985, woman
    with clock("2027-05-01 10:00"):
        page = client.get(reverse("agenda:prevention")).content.decode()
        assert "Dépistage du cancer du col de l’utérus (test HPV)" in page
        url = reverse("agenda:prevention_item", args=[personas.camille.public_id, "depistage-col-hpv-40-ans"])
        detail = client.get(url).content.decode()
        assert "Pourquoi ce rappel ?" in detail and "Source" in detail
        missing_date = client.post(url, {"state": PreventionState.DONE})
        assert "Indiquez la date à laquelle c’est fait." in missing_date.content.decode()
        assert not PreventionItem.objects.exists()
        client.post(url, {"state": PreventionState.DONE, "done_on": "2027-04-02"})
        item = PreventionItem.objects.get(patient=personas.camille)
        assert item.state == PreventionState.DONE and item.done_on == datetime.date(2027, 4, 2)
        client.post(url, {"state": PreventionState.NOT_CONCERNED, "done_on": "2027-04-02"})
        item.refresh_from_db()
        assert item.state == PreventionState.NOT_CONCERNED and item.done_on is None
        assert "Non concerné" in client.get(reverse("agenda:prevention")).content.decode()

        client.post(reverse("agenda:settings"), {"reminders_enabled": "on", "feed_detail": "titles"})
        page = client.get(reverse("agenda:prevention")).content.decode()
    assert "Les suggestions de prévention sont désactivées" in page
    assert "test HPV" not in page


@pytest.mark.django_db
def test_rules_of_the_other_sex_or_of_someone_else_are_404(client, session_as, personas):
    session_as(client, "julien")
    with clock("2027-05-01 10:00"):
        own = reverse("agenda:prevention_item", args=[personas.julien.public_id, "depistage-sein-50-ans"])
        child = reverse("agenda:prevention_item", args=[personas.leo.public_id, "rappel-11-13-ans"])
        stranger = reverse("agenda:prevention_item", args=[personas.camille.public_id, "rappel-45-ans"])
        assert client.get(own).status_code == 404
        assert client.get(child).status_code == 200
        assert client.get(stranger).status_code == 404
        page = client.get(reverse("agenda:prevention")).content.decode()
    assert "Léo Moreau" in page  # the parent sees the child's suggestions too
