"""Re-encrypt every encrypted field and re-wrap every encrypted file with the current key."""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from espace_sante.crypto.aead import envelope_key_id, rewrap_file_header
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
            if isinstance(field, EncryptedTextField):
                yield model, field


def rotate_fields(report: RotationReport) -> None:
    current = keyring().current_id
    for model, field in encrypted_fields():
        raw = model._default_manager.annotate(_raw=Cast(field.name, output_field=models.BinaryField()))
        stale = [
            pk
            for pk, blob in raw.exclude(**{f"{field.name}__isnull": True}).values_list("pk", "_raw").iterator()
            if envelope_key_id(bytes(blob)) != current
        ]
        for start in range(0, len(stale), BATCH):
            with transaction.atomic():
                chunk = stale[start : start + BATCH]
                for obj in model._default_manager.filter(pk__in=chunk).only("pk", field.name):
                    # Reading decrypts with the old key; the update seals with the current one.
                    model._default_manager.filter(pk=obj.pk).update(**{field.name: getattr(obj, field.name)})
                    report.rows += 1


def rotate_files(report: RotationReport) -> None:
    root = Path(encrypted_storage().location)
    if not root.exists():
        return
    for path in root.rglob("*"):
        if not path.is_file() or path.name.endswith(".rotating"):
            continue
        name = path.relative_to(root).as_posix()
        rewrapped = rewrap_file_header(path.read_bytes(), name=name)
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
