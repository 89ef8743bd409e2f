from django.db import models

from espace_sante.crypto.fields import EncryptedTextField

CANARY_TEXT = "mon-espace-sante-canary"


class KeyCanary(models.Model):
    """One row sealed at the first migration: if no key of the ring opens it, the keys are wrong."""

    value = EncryptedTextField("valeur témoin")
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    class Meta:
        verbose_name = "témoin de chiffrement"
        verbose_name_plural = "témoins de chiffrement"

    def __str__(self) -> str:
        return f"témoin du {self.created_at:%Y-%m-%d}" if self.created_at else "témoin"
