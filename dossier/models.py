from django.db import models
from django.utils import timezone


class MedicalRecord(models.Model):
    """The shared medical record (DMP) created with the space (R.1111-40). Documents arrive with issue 4."""

    patient = models.OneToOneField(
        "accounts.Patient",
        on_delete=models.PROTECT,  # a record is archived with its space, never cascaded away
        related_name="medical_record",
        verbose_name="patient",
    )
    created_at = models.DateTimeField("créé le", default=timezone.now)

    class Meta:
        verbose_name = "dossier médical"
        verbose_name_plural = "dossiers médicaux"

    def __str__(self) -> str:
        return f"dossier de {self.patient}"
