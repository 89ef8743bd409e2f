"""Re-encrypt every encrypted field and re-wrap every encrypted file with the current key."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from espace_sante.crypto.aead import DecryptionError, envelope_key_id, open_sealed, rewrap_file_header
from espace_sante.crypto.fields import EncryptedTextField
from espace_sante.crypto.keys import keyring
from espace_sante.crypto.storage import encrypted_storage

BATCH = 1000


@dataclass
class RotationReport:
    rows: int = 0
    files: int = 0
    failures: int = 0


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            # field.model: each column once (not again through a proxy or a multi-table child).
            if isinstance(field, EncryptedTextField) and field.model is model:
                yield model, field


def _raw(model: type[models.Model], field: EncryptedTextField) -> models.QuerySet:
    """The envelopes as stored: the cast keeps the field's from_db_value (decryption) out of the way."""
    # _base_manager: a default manager that hides rows would leave them sealed with the old key.
    return model._base_manager.annotate(_raw=Cast(field.name, output_field=models.BinaryField())).exclude(
        **{f"{field.name}__isnull": True}
    )


def _sealed_with(blob) -> str | None:
    try:
        return envelope_key_id(bytes(blob))
    except DecryptionError:
        return None  # not even an envelope: counted as a failure when opened


def rotate_fields(report: RotationReport) -> None:
    current = keyring().current_id
    for model, field in encrypted_fields():
        stale = [
            pk for pk, blob in _raw(model, field).values_list("pk", "_raw").iterator() if _sealed_with(blob) != current
        ]
        for start in range(0, len(stale), BATCH):
            with transaction.atomic():
                # Locked and read again: a value written since the scan is not overwritten with a stale one.
                rows = _raw(model, field).filter(pk__in=stale[start : start + BATCH]).select_for_update()
                for pk, blob in rows.values_list("pk", "_raw"):
                    if _sealed_with(blob) == current:
                        continue
                    try:
                        plaintext = open_sealed(bytes(blob), context=field.context).decode()
                    except DecryptionError:
                        report.failures += 1
                        continue
                    model._base_manager.filter(pk=pk).update(**{field.name: plaintext})  # sealed with the current key
                    report.rows += 1


def rotate_files(report: RotationReport) -> None:
    root = Path(encrypted_storage().location)
    if not root.exists():
        return
    for path in root.rglob("*"):
        if not path.is_file() or path.name.endswith(".rotating"):
            continue
        name = path.relative_to(root).as_posix()
        try:
            rewrapped = rewrap_file_header(path.read_bytes(), name=name)
        except DecryptionError:
            report.failures += 1
            continue
        if rewrapped is None:
            continue
        temporary = path.with_name(path.name + ".rotating")
        temporary.write_bytes(rewrapped)
        os.replace(temporary, path)  # atomic: a crash leaves either the old or the new file
        report.files += 1


def rotate_all() -> RotationReport:
    report = RotationReport()
    rotate_fields(report)
    rotate_files(report)
    return report
