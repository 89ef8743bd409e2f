"""Registry rows and insured people for activation tests."""

import csv
import datetime
from pathlib import Path

from django.utils import timezone

from activation.services.registry import COLUMNS


def nir_for(*, sex: int, year: int, month: int, dept: str = "31", commune: str = "555", order: int) -> str:
    base = f"{sex}{year % 100:02d}{month:02d}{dept}{commune}{order:03d}"
    return base + f"{97 - int(base) % 97:02d}"


def registry_row(index: int, *, holder: str = "", email: str | None = None, postal_code: str = "31000", **overrides):
    birth = datetime.date(1960 + index % 40, 1 + index % 12, 1 + index % 28)
    nir = nir_for(
        sex=1 + index % 2,
        year=birth.year,
        month=birth.month,
        order=index % 1000,
        commune=f"{index // 1000 % 1000:03d}",
    )
    row = {
        "nir": nir,
        "nom_naissance": f"Nom{index}",
        "prenoms": f"Prénom{index} Second",
        "date_naissance": birth.isoformat(),
        "sexe": "M" if index % 2 == 0 else "F",
        "lieu_naissance_insee": "31555",
        "email": f"assure{index}@example.org" if email is None else email,
        "telephone": "0612345678",
        "adresse": f"{index} rue de la Paix",
        "code_postal": postal_code,
        "commune": "Toulouse",
        "type_carte_vitale": "avec_photo",
        "numero_serie_vitale": f"{80250000020000000000 + index}",
        "nir_ouvrant_droit": holder,
    }
    row.update(overrides)
    return row


def write_registry(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def family(index: int) -> list[dict]:
    """A parent without e-mail (letters) and a young child attached to the parent's card."""
    parent = registry_row(index, email="")
    today = timezone.localdate()
    child_birth = today.replace(year=today.year - 5, day=1)
    child = registry_row(
        index + 1,
        holder=parent["nir"],
        email="",
        date_naissance=child_birth.isoformat(),
        nir=nir_for(sex=2, year=child_birth.year, month=child_birth.month, order=index % 1000, commune="777"),
    )
    return [parent, child]
