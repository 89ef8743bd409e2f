"""Appointments sent by connected services move from catalogue.ServiceAppointment into agenda.AgendaEntry,
keeping their public_id (their FHIR id): the service's name as the professional, the description as the note.

Rows dated outside 1900–2200 (stored before the API checked dates; some cannot even be read by Python) are
not moved: the API has refused such dates since, and no page could show them.
"""

import datetime

from django.db import migrations

EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(2200, 1, 1, tzinfo=datetime.UTC)


def forwards(apps, schema_editor):
    AgendaEntry = apps.get_model("agenda", "AgendaEntry")
    ServiceAppointment = apps.get_model("catalogue", "ServiceAppointment")
    rows = ServiceAppointment.objects.filter(starts_at__gte=EARLIEST, ends_at__lt=LATEST).select_related(
        "connection__service"
    )
    for row in rows.iterator():
        entry = AgendaEntry.objects.create(
            public_id=row.public_id,
            patient_id=row.patient_id,
            kind="appointment",
            status="cancelled" if row.cancelled else "planned",
            source="service",
            source_service_id=row.connection.service_id,
            professional_name=row.connection.service.name[:150],
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            note=row.description,
        )
        AgendaEntry.objects.filter(pk=entry.pk).update(created_at=row.created_at, updated_at=row.created_at)


def backwards(apps, schema_editor):
    AgendaEntry = apps.get_model("agenda", "AgendaEntry")
    AgendaEntry.objects.filter(source_service__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("agenda", "0002_entry_service_source"),
        ("catalogue", "0003_disconnect_reason_space_closed"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
