"""Password rules of the real service: at least 9 characters mixing four kinds, without the person's names."""

import re
import string
import unicodedata

from django.core.exceptions import ValidationError


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


class CharacterClassesValidator:
    def validate(self, password: str, user=None) -> None:
        missing = []
        if not any(c.islower() for c in password):
            missing.append("une minuscule")
        if not any(c.isupper() for c in password):
            missing.append("une majuscule")
        if not any(c.isdigit() for c in password):
            missing.append("un chiffre")
        if not any(c in string.punctuation or (not c.isalnum() and not c.isspace()) for c in password):
            missing.append("un caractère spécial")
        if missing:
            raise ValidationError(
                "Le mot de passe doit contenir au moins " + ", ".join(missing) + ".",
                code="password_character_classes",
            )

    def get_help_text(self) -> str:
        return "Il doit contenir une minuscule, une majuscule, un chiffre et un caractère spécial."


class NoPersonalNameValidator:
    """Refuse a password containing the person's first or last name (3 letters or more, accents ignored)."""

    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        names = [getattr(user, "first_name", ""), getattr(user, "last_name", "")]
        patient = getattr(user, "patient_profile", None) if getattr(user, "pk", None) else None
        if patient is not None:
            names += [patient.birth_name, patient.used_name, *patient.first_names.split()]
        folded = _fold(password)
        for name in names:
            for part in _fold(name or "").replace("-", " ").split():
                if len(part) >= 3 and part in folded:
                    raise ValidationError(
                        "Le mot de passe ne doit pas contenir votre nom ou votre prénom.",
                        code="password_contains_name",
                    )

    def get_help_text(self) -> str:
        return "Il ne doit contenir ni votre nom ni votre prénom."


def validate_rpps(value: str) -> None:
    """An RPPS number: 11 digits, the last one a Luhn check digit."""
    from stdnum import luhn

    if len(value) != 11 or not value.isdigit() or not luhn.is_valid(value):
        raise ValidationError("Ce numéro RPPS n’est pas valide (11 chiffres).", code="invalid_rpps")


def validate_nir(value: str) -> None:
    """A NIR (numéro de sécurité sociale) of 15 characters whose key matches (Corsica's 2A/2B accepted)."""
    from stdnum.fr import nir

    if not nir.is_valid(value):
        raise ValidationError("Ce numéro de sécurité sociale n’est pas valide.", code="invalid_nir")


DEPARTMENT = re.compile(r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$")


def validate_departments(value: str) -> None:
    """A comma-separated list of département codes: 01–95 (2A/2B for Corsica), 971–976 overseas."""
    codes = [code.strip() for code in value.split(",")] if value else []
    if any(not DEPARTMENT.match(code) for code in codes):
        raise ValidationError(
            "Départements attendus séparés par des virgules, par exemple 31 ou 2A,2B.", code="departments"
        )


FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")


def finess_is_valid(value: str) -> bool:
    """A FINESS number (établissement or entité juridique): 9 characters, the département's two first (2A/2B
    for Corsica), the last one a Luhn check digit over the whole number. For Corsica the key is computed
    with the département read as 20 (our assumption, as for other French registries: check it against the
    FINESS extract before relying on it for Corsican establishments)."""
    from stdnum import luhn

    if not isinstance(value, str) or not FINESS.match(value):
        return False
    digits = "20" + value[2:] if value[:2] in ("2A", "2B") else value
    return luhn.is_valid(digits)


def validate_finess(value: str) -> None:
    if not finess_is_valid(value):
        raise ValidationError(
            "Ce numéro FINESS n’est pas valide : 9 caractères (le département, puis 7 chiffres dont le dernier "
            "est la clé de contrôle).",
            code="invalid_finess",
        )
