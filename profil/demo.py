"""Demo entries and measures for Camille (adult) and Léo (child, entered by his father). Idempotent."""

import datetime
from decimal import Decimal

from espace_sante.access import policy
from espace_sante.access.actor import Actor
from profil import services
from profil.enums import MeasureKind
from profil.sections import SECTIONS

D = datetime.date


def _entries(patient, by, items) -> None:
    saved = {}
    for section, values in items:
        if "linked_to" in values:
            values = {**values, "linked_to": str(saved[values["linked_to"]].public_id)}
        saved[values.get("name", section)] = services.entry_save(
            patient=patient, definition=SECTIONS[section], values=values, by=by
        )


def _measures(patient, by, items) -> None:
    for kind, day, value, value2 in items:
        services.measure_add(
            patient=patient,
            kind=kind,
            value=Decimal(value),
            value2=Decimal(value2) if value2 else None,
            measured_on=day,
            by=by,
        )


def seed_demo(personas) -> None:
    camille, leo = personas.camille, personas.leo
    by = Actor.for_user(camille.user, verified=True)
    if not policy.profile_entries_for(by, camille, SECTIONS).exists():
        _entries(
            camille,
            by,
            [
                (
                    "maladies",
                    {"name": "Asthme", "start": "2004", "ongoing": True, "comment": "Crises rares, à l’effort."},
                ),
                ("maladies", {"name": "Appendicite", "start": "2010-05", "end": "2010-06"}),
                ("allergies", {"name": "Pénicilline", "reaction": "Urticaire"}),
                (
                    "traitements",
                    {
                        "name": "Salbutamol 100 µg",
                        "dosage": "2 bouffées si besoin",
                        "start": "2004",
                        "linked_to": "Asthme",
                    },
                ),
                (
                    "hospitalisations",
                    {"name": "Appendicectomie", "start": "2010-05-12", "duration": 3, "duration_unit": "jours"},
                ),
                ("antecedents", {"name": "Diabète de type 2", "relative": "pere"}),
                (
                    "vaccinations",
                    {
                        "name": "Diphtérie, tétanos, poliomyélite",
                        "date": "2025-03-10",
                        "dose_type": "rappel",
                        "batch": "X4521B",
                        "vaccinator": "Dr Anne Martin",
                    },
                ),
                (
                    "vaccinations",
                    {
                        "name": "Grippe saisonnière",
                        "date": "2025-10-20",
                        "dose_type": "primo",
                        "vaccinator": "Pharmacie Leroy",
                    },
                ),
                ("groupe-sanguin", {"name": "A+"}),
                ("habitudes", {"tabac": "non", "alcool": "occasionnel", "activite": "reguliere", "sommeil": "normal"}),
                ("contacts-urgence", {"name": "Marc Lefèvre", "relation": "conjoint", "phone": "06 12 34 56 78"}),
            ],
        )
    if not policy.measures_for(by, camille).exists():
        blood_pressure = [
            ("142", "91"),
            ("138", "88"),
            ("135", "86"),
            ("131", "84"),
            ("128", "82"),
            ("126", "80"),
            ("124", "79"),
            ("121", "78"),
        ]
        _measures(
            camille,
            by,
            [(MeasureKind.TENSION, D(2026, m + 2, 5), s, d) for m, (s, d) in enumerate(blood_pressure)]
            + [
                (MeasureKind.POIDS, D(2026, 3, 5), "64.5", None),
                (MeasureKind.POIDS, D(2026, 9, 5), "62.8", None),
                (MeasureKind.TAILLE, D(2026, 3, 5), "166", None),
                (MeasureKind.FREQUENCE_CARDIAQUE, D(2026, 9, 5), "68", None),
            ],
        )
    by = Actor.for_user(personas.julien.user, verified=True, acting_for_id=leo.pk)
    if not policy.profile_entries_for(by, leo, SECTIONS).exists():
        _entries(
            leo,
            by,
            [
                (
                    "allergies",
                    {"name": "Arachide", "reaction": "Œdème des lèvres", "comment": "Trousse d’urgence à l’école."},
                ),
                ("vaccinations", {"name": "Rougeole, oreillons, rubéole", "date": "2017-06-22", "dose_type": "primo"}),
                (
                    "vaccinations",
                    {"name": "Rougeole, oreillons, rubéole", "date": "2018-01-15", "dose_type": "rappel"},
                ),
                ("contacts-urgence", {"name": "Julien Moreau", "relation": "père", "phone": "06 98 76 54 32"}),
            ],
        )
    if not policy.measures_for(by, leo).exists():
        born = leo.birth_date
        weights = [
            (0, "3.4"),
            (3, "6.3"),
            (6, "8.0"),
            (9, "9.1"),
            (12, "9.9"),
            (18, "11.2"),
            (24, "12.6"),
            (36, "14.6"),
            (48, "16.4"),
            (60, "18.9"),
        ]
        _measures(
            leo,
            by,
            [(MeasureKind.POIDS, born + datetime.timedelta(days=round(m * 30.44)), w, None) for m, w in weights]
            + [
                (MeasureKind.PERIMETRE_CRANIEN, born + datetime.timedelta(days=365), "46.5", None),
                (MeasureKind.TAILLE, D(2026, 9, 1), "139", None),
                (MeasureKind.POIDS, D(2026, 9, 1), "32.5", None),
            ],
        )
