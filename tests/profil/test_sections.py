"""The questionnaire sections, one generic mechanism: every section for a patient and for a parent acting for a
child, and the bad input the issue lists."""

import pytest
from django.urls import reverse

from espace_sante.audit.models import AuditEvent
from profil.models import HealthProfile, ProfileEntry
from profil.sections import SECTIONS

VALID = {
    "maladies": {"name": "Migraine", "start": "03/2019", "ongoing": "on"},
    "traitements": {"name": "Paracétamol", "dosage": "1 g", "start": "2020"},
    "hospitalisations": {
        "name": "Fracture du poignet",
        "start": "12/05/2015",
        "duration": "2",
        "duration_unit": "jours",
    },
    "antecedents": {"name": "Hypertension", "relative": "mere"},
    "allergies": {"name": "Pollen de bouleau", "reaction": "Rhinite"},
    "vaccinations": {"name": "Tétanos", "date": "2024-01-10", "dose_type": "rappel", "batch": "AB12"},
    "groupe-sanguin": {"name": "O-"},
    "handicaps": {"name": "Surdité partielle", "help_needed": "Sous-titres"},
    "habitudes": {"tabac": "non", "sommeil": "normal"},
    "contacts-urgence": {"name": "Paul Durand", "phone": "06 12 34 56 78"},
    "personne-de-confiance": {"name": "Marie Durand", "phone": "0612345678"},
}
SHOWN = {"groupe-sanguin": "O−", "habitudes": "non-fumeur"}


def test_every_section_has_valid_test_data():
    assert set(VALID) == set(SECTIONS)


@pytest.mark.parametrize("who", ["camille", "leo"])
@pytest.mark.parametrize("section", list(VALID))
def test_add_edit_delete(client, as_patient, who, section):
    patient = as_patient(who)
    response = client.post(reverse("profil:entry_add", args=[section]), VALID[section])
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = ProfileEntry.objects.get(patient=patient, section=section)
    page = client.get(reverse("profil:section", args=[section])).content.decode()
    assert SHOWN.get(section, VALID[section].get("name", "")) in page

    changed = {**VALID[section], "comment": "Modifié"} if "comment" in SECTIONS[section].form.base_fields else None
    if changed:
        assert client.post(reverse("profil:entry_edit", args=[section, entry.public_id]), changed).status_code == 302
        entry.refresh_from_db()
        assert entry.values["comment"] == "Modifié"

    assert client.get(reverse("profil:entry_delete", args=[section, entry.public_id])).status_code == 200
    assert client.post(reverse("profil:entry_delete", args=[section, entry.public_id])).status_code == 302
    assert not ProfileEntry.objects.filter(patient=patient, section=section).exists()
    events = AuditEvent.objects.filter(patient=patient, action__startswith="profil.entry")
    assert events.count() == (3 if changed else 2)
    assert not any(VALID[section].get("name", "§") in str(e.data) + e.target_label for e in events)


def test_content_is_encrypted_at_rest(client, as_patient):
    from django.db import connection

    patient = as_patient("camille")
    client.post(reverse("profil:entry_add", args=["allergies"]), VALID["allergies"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT content FROM profil_profileentry WHERE patient_id = %s", [patient.pk])
        raw = bytes(cursor.fetchone()[0])
    assert b"bouleau" not in raw


def test_a_parent_works_on_the_child_profile_only(client, as_patient, personas):
    as_patient("leo")
    client.post(reverse("profil:entry_add", args=["allergies"]), VALID["allergies"])
    assert ProfileEntry.objects.filter(patient=personas.leo).count() == 1
    assert ProfileEntry.objects.filter(patient=personas.julien).count() == 0
    page = client.get(reverse("profil:index")).content.decode()
    assert "Vous agissez pour" in page


def test_someone_elses_entry_is_404(client, as_patient, personas):
    as_patient("camille")
    client.post(reverse("profil:entry_add", args=["allergies"]), VALID["allergies"])
    entry = ProfileEntry.objects.get(patient=personas.camille)
    client.logout()
    as_patient("leo")
    assert client.get(reverse("profil:entry_edit", args=["allergies", entry.public_id])).status_code == 404
    assert client.post(reverse("profil:entry_delete", args=["allergies", entry.public_id])).status_code == 404
    assert client.get(reverse("profil:entry_edit", args=["maladies", entry.public_id])).status_code == 404
    assert client.get(reverse("profil:section", args=["inconnue"])).status_code == 404


@pytest.mark.parametrize(
    ("section", "data", "message"),
    [
        ("maladies", {"name": "Grippe", "start": "2099"}, "ne peut pas être dans le futur"),
        ("maladies", {"name": "Grippe", "start": "03/2020", "end": "2019"}, "ne peut pas précéder la date de début"),
        ("maladies", {"name": "Grippe", "start": "31/02/2020"}, "Cette date n’existe pas"),
        ("maladies", {"name": "Grippe", "start": "hier"}, "JJ/MM/AAAA"),
        ("maladies", {"name": "Grippe", "start": "2019", "end": "2020", "ongoing": "on"}, "en cours"),
        ("maladies", {"name": "Grippe", "comment": "x" * 20_000}, "2000 caractères au maximum"),
        ("maladies", {"name": ""}, "obligatoire"),
        ("vaccinations", {"name": "Tétanos", "date": "2099-01-01", "dose_type": "rappel"}, "futur"),
        ("vaccinations", {"name": "Tétanos", "date": "2020-01-01", "dose_type": "troisième"}, "Sélectionnez un choix"),
        ("contacts-urgence", {"name": "Paul", "phone": "appelez-moi"}, "numéro de téléphone valide"),
        ("hospitalisations", {"name": "Opération", "start": "2020", "duration": "3"}, "unité de la durée"),
        ("habitudes", {}, "au moins une habitude"),
    ],
)
def test_bad_input_is_refused_in_french_and_nothing_is_saved(client, as_patient, section, data, message):
    patient = as_patient("camille")
    response = client.post(reverse("profil:entry_add", args=[section]), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ProfileEntry.objects.filter(patient=patient).exists()


def test_html_is_escaped(client, as_patient):
    as_patient("camille")
    client.post(
        reverse("profil:entry_add", args=["allergies"]), {"name": "<script>alert(1)</script>", "comment": "<b>x</b>"}
    )
    page = client.get(reverse("profil:section", args=["allergies"])).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page


def test_a_single_entry_section_refuses_a_second_entry(client, as_patient):
    patient = as_patient("camille")
    client.post(reverse("profil:entry_add", args=["groupe-sanguin"]), {"name": "A+"})
    response = client.post(reverse("profil:entry_add", args=["groupe-sanguin"]), {"name": "B+"})
    assert "ne contient qu’une seule information" in response.content.decode()
    assert ProfileEntry.objects.filter(patient=patient, section="groupe-sanguin").count() == 1


def test_a_treatment_links_to_a_disease_of_the_same_profile(client, as_patient, personas):
    patient = as_patient("camille")
    client.post(reverse("profil:entry_add", args=["maladies"]), {"name": "Asthme", "start": "2004"})
    disease = ProfileEntry.objects.get(patient=patient, section="maladies")
    form = client.get(reverse("profil:entry_add", args=["traitements"])).content.decode()
    assert "Maladie : Asthme" in form
    data = {"name": "Ventoline", "linked_to": str(disease.public_id)}
    assert client.post(reverse("profil:entry_add", args=["traitements"]), data).status_code == 302
    assert "Maladie : Asthme" not in client.get(reverse("profil:section", args=["traitements"])).content.decode()
    assert "Asthme" in client.get(reverse("profil:section", args=["traitements"])).content.decode()
    # Another profile's disease is not a valid choice.
    client.logout()
    as_patient("leo")
    response = client.post(reverse("profil:entry_add", args=["traitements"]), data)
    assert response.status_code == 200 and "Sélectionnez un choix valide" in response.content.decode()


def test_not_concerned_switch_is_dated_and_cleared_by_a_new_entry(client, as_patient):
    patient = as_patient("leo")
    client.post(reverse("profil:not_concerned", args=["handicaps"]), {"not_concerned": "on"})
    settings = HealthProfile.objects.get(patient=patient)
    assert "handicaps" in settings.not_concerned
    assert (
        "Vous avez indiqué ne pas être concerné(e)"
        in client.get(reverse("profil:section", args=["handicaps"])).content.decode()
    )
    assert "Non concerné(e)" in client.get(reverse("profil:index")).content.decode()
    client.post(reverse("profil:entry_add", args=["handicaps"]), VALID["handicaps"])
    settings.refresh_from_db()
    assert "handicaps" not in settings.not_concerned
    client.post(reverse("profil:not_concerned", args=["allergies"]), {"not_concerned": "on"})
    client.post(reverse("profil:not_concerned", args=["allergies"]), {})
    settings.refresh_from_db()
    assert "allergies" not in settings.not_concerned
