"""Measures sent by connected services move from catalogue.ServiceMeasure into profil.Measure, keeping their
public_id (their FHIR id). Existing measures get updated_at = created_at.

Rows dated outside 1900–2200 (stored before the API checked dates; some cannot even be read by Python) are
not moved: the API has refused such dates since, and no page could show them.
"""

import datetime
import zoneinfo

from django.db import migrations

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(2200, 1, 1, tzinfo=datetime.UTC)
# The LOINC codes catalogue.fhir accepted, and the measure kind each one is.
KINDS = {
    "29463-7": "poids",
    "8302-2": "taille",
    "8310-5": "temperature",
    "8867-4": "frequence_cardiaque",
    "55423-8": "pas",
    "15074-8": "glycemie",  # stored in g/L: the API then required that unit whatever the code
}


def forwards(apps, schema_editor):
    Measure = apps.get_model("profil", "Measure")
    ServiceMeasure = apps.get_model("catalogue", "ServiceMeasure")
    for measure in Measure.objects.only("pk", "created_at").iterator():
        Measure.objects.filter(pk=measure.pk).update(updated_at=measure.created_at)
    rows = ServiceMeasure.objects.filter(effective_at__gte=EARLIEST, effective_at__lt=LATEST).select_related(
        "connection"
    )
    for row in rows.iterator():
        kind = KINDS.get(row.code)
        if kind is None:
            continue
        Measure.objects.create(
            public_id=row.public_id,
            patient_id=row.patient_id,
            kind=kind,
            value=row.value,
            measured_at=row.effective_at,
            measured_on=row.effective_at.astimezone(PARIS).date(),
            source_id=row.connection.service_id,
            created_at=row.created_at,
            updated_at=row.created_at,
        )


def backwards(apps, schema_editor):
    Measure = apps.get_model("profil", "Measure")
    Measure.objects.filter(source__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("profil", "0002_measure_service_source"),
        ("catalogue", "0003_disconnect_reason_space_closed"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
