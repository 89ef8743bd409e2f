"""Input shape and French messages of the profile's forms. One base class serves every questionnaire section."""

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from dsfr.forms import DsfrBaseForm

from profil.enums import (
    BloodGroup,
    DirectiveChoice,
    DoseType,
    DurationUnit,
    MeasureKind,
    ProfessionalRole,
    Relative,
    Section,
)
from profil.measures import measure_check

COMMENT_MAX = 2000
OLDEST = datetime.date(1900, 1, 1)
PARTIAL_DATE = re.compile(r"^(?:(?:(\d{1,2})/)?(\d{1,2})/)?(\d{4})$")
PHONE = re.compile(r"^\+?[0-9 .\-]{6,20}$")


# --- Dates with day, month or year precision ----------------------------------------------------------------


def partial_bounds(iso: str) -> tuple[datetime.date, datetime.date]:
    """First and last day a partial date ("2019", "2019-03", "2019-03-14") may stand for."""
    parts = [int(p) for p in iso.split("-")]
    if len(parts) == 3:
        day = datetime.date(*parts)
        return day, day
    if len(parts) == 2:
        year, month = parts
        following = datetime.date(year + month // 12, month % 12 + 1, 1)
        return datetime.date(year, month, 1), following - datetime.timedelta(days=1)
    return datetime.date(parts[0], 1, 1), datetime.date(parts[0], 12, 31)


def partial_display(iso: str) -> str:
    return "/".join(reversed(iso.split("-")))


class PartialDateField(forms.CharField):
    """A date known to the day, the month or only the year: JJ/MM/AAAA, MM/AAAA or AAAA."""

    def __init__(self, *, allow_future: bool = False, **kwargs) -> None:
        self.allow_future = allow_future
        kwargs.setdefault("help_text", "Au format JJ/MM/AAAA, MM/AAAA ou AAAA si vous ne connaissez que l’année.")
        super().__init__(max_length=10, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return ""
        match = PARTIAL_DATE.match(value.strip())
        if match is None:
            raise ValidationError("Indiquez une date au format JJ/MM/AAAA, MM/AAAA ou AAAA.")
        day, month, year = match.groups()
        try:
            iso = datetime.date(int(year), int(month or 1), int(day or 1)).isoformat()
        except ValueError:
            raise ValidationError("Cette date n’existe pas.") from None
        iso = iso[: 10 if day else 7 if month else 4]
        first, _ = partial_bounds(iso)
        if first < OLDEST:
            raise ValidationError("Cette date est trop ancienne.")
        if not self.allow_future and first > timezone.localdate():
            raise ValidationError("Cette date ne peut pas être dans le futur.")
        return iso

    def prepare_value(self, value):
        return partial_display(value) if value and PARTIAL_DATE.match(partial_display(value)) else value


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _past_date(value: datetime.date) -> datetime.date:
    if value > timezone.localdate():
        raise ValidationError("Cette date ne peut pas être dans le futur.")
    if value < OLDEST:
        raise ValidationError("Cette date est trop ancienne.")
    return value


def _text(label: str, *, max_length: int = 200, required: bool = True, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        error_messages={
            "required": f"Ce champ est obligatoire : {label.lower()}.",
            "max_length": f"{label} : {max_length} caractères au maximum (vous en avez saisi %(show_value)d).",
        },
        **kwargs,
    )


def _comment(label: str = "Commentaire") -> forms.CharField:
    return _text(label, max_length=COMMENT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3}))


def _choice(label: str, choices, *, required: bool = True) -> forms.ChoiceField:
    empty = [("", "Sélectionnez une option")]
    return forms.ChoiceField(
        label=label,
        choices=empty + list(choices),
        required=required,
        error_messages={"required": f"Choisissez une option : {label.lower()}."},
    )


# --- Questionnaire sections -----------------------------------------------------------------------------------


class EntryForm(DsfrBaseForm):
    """Base of the sections' forms: JSON-ready values, start/end order, related entries for a link field."""

    def __init__(self, *args, related: list[tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "linked_to" in self.fields:
            self.fields["linked_to"].choices = [("", "Aucun")] + (related or [])

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and partial_bounds(end)[1] < partial_bounds(start)[0]:
            self.add_error("end", "La date de fin ne peut pas précéder la date de début.")
        if data.get("ongoing") and end:
            self.add_error(
                "end", "Une maladie en cours n’a pas de date de fin : décochez « En cours » ou videz la fin."
            )
        return data

    def values(self) -> dict:
        """The cleaned data as JSON values (dates as ISO strings), empty values left out."""
        out = {}
        for name, value in self.cleaned_data.items():
            if value in ("", None, False):
                continue
            out[name] = value.isoformat() if isinstance(value, datetime.date) else value
        return out


class DiseaseForm(EntryForm):
    name = _text("Maladie ou sujet de santé")
    start = PartialDateField(label="Début", required=False)
    end = PartialDateField(label="Fin", required=False)
    ongoing = forms.BooleanField(label="En cours", required=False)
    comment = _comment()


class TreatmentForm(EntryForm):
    name = _text("Médicament")
    dosage = _text("Posologie", required=False, help_text="Par exemple : 1 comprimé matin et soir.")
    start = PartialDateField(label="Début", required=False)
    end = PartialDateField(label="Fin", required=False, allow_future=True)
    linked_to = forms.ChoiceField(label="Lié à une maladie ou une allergie", required=False)
    comment = _comment()


class HospitalisationForm(EntryForm):
    name = _text("Motif ou acte chirurgical")
    start = PartialDateField(label="Date")
    duration = forms.IntegerField(
        label="Durée",
        required=False,
        min_value=1,
        max_value=999,
        error_messages={"min_value": "La durée doit être positive.", "max_value": "Cette durée est trop longue."},
    )
    duration_unit = _choice("Unité de durée", DurationUnit.choices, required=False)
    comment = _comment()

    def clean(self) -> dict:
        data = super().clean()
        if data.get("duration") and not data.get("duration_unit"):
            self.add_error("duration_unit", "Précisez l’unité de la durée.")
        return data


class FamilyHistoryForm(EntryForm):
    name = _text("Maladie ou problème de santé")
    relative = _choice("Membre de la famille concerné", Relative.choices)
    comment = _comment()


class AllergyForm(EntryForm):
    name = _text("Allergie (substance, aliment, médicament…)")
    reaction = _text("Réaction", required=False)
    comment = _comment()


class VaccinationForm(EntryForm):
    name = _text("Vaccin")
    date = forms.DateField(
        label="Date", widget=DateInput(), error_messages={"required": "Indiquez la date de la vaccination."}
    )
    dose_type = _choice("Type de dose", DoseType.choices)
    batch = _text("Numéro de lot", max_length=40, required=False)
    vaccinator = _text("Vacciné(e) par", required=False)
    comment = _comment()

    def clean_date(self) -> datetime.date:
        return _past_date(self.cleaned_data["date"])


class BloodGroupForm(EntryForm):
    name = _choice("Groupe sanguin", BloodGroup.choices)


class HandicapForm(EntryForm):
    name = _text("Type de handicap")
    help_needed = _text(
        "Aide nécessaire", max_length=COMMENT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class HabitsForm(EntryForm):
    tabac = _choice(
        "Tabac",
        [
            ("non", "non-fumeur"),
            ("ancien", "ancien fumeur"),
            ("occasionnel", "occasionnel"),
            ("quotidien", "quotidien"),
        ],
        required=False,
    )
    alcool = _choice(
        "Alcool",
        [("non", "jamais"), ("occasionnel", "occasionnel"), ("regulier", "régulier, plusieurs fois par semaine")],
        required=False,
    )
    activite = _choice(
        "Activité physique",
        [
            ("aucune", "aucune"),
            ("moderee", "moins de 2 h 30 par semaine"),
            ("reguliere", "2 h 30 ou plus par semaine"),
        ],
        required=False,
    )
    sommeil = _choice(
        "Sommeil",
        [("court", "moins de 6 h par nuit"), ("normal", "de 6 à 9 h par nuit"), ("long", "plus de 9 h par nuit")],
        required=False,
    )
    alimentation = _comment("Alimentation (régime, habitudes)")

    def clean(self) -> dict:
        data = super().clean()
        if not any(data.values()):
            raise ValidationError("Renseignez au moins une habitude de vie.")
        return data


class ContactForm(EntryForm):
    name = _text("Nom et prénom")
    relation = _text("Lien (conjoint, ami, voisin…)", max_length=100, required=False)
    phone = _text("Téléphone", max_length=20)
    comment = _comment()

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if not PHONE.match(phone):
            raise ValidationError("Indiquez un numéro de téléphone valide, par exemple 06 12 34 56 78.")
        return phone


class TrustedPersonForm(ContactForm):
    email = forms.EmailField(
        label="Adresse e-mail", required=False, error_messages={"invalid": "Indiquez une adresse e-mail valide."}
    )
    date = forms.DateField(label="Désignée le", required=False, widget=DateInput())

    def clean_date(self):
        value = self.cleaned_data.get("date")
        return _past_date(value) if value else value


# --- Other pages ----------------------------------------------------------------------------------------------


class NotConcernedForm(DsfrBaseForm):
    not_concerned = forms.BooleanField(label="Je ne suis pas concerné(e)", required=False)


class MeasureForm(DsfrBaseForm):
    kind = forms.ChoiceField(label="Mesure", choices=MeasureKind.choices)
    value = forms.DecimalField(
        label="Valeur",
        help_text="Pour la tension : la pression systolique (le premier chiffre).",
        max_digits=8,
        decimal_places=2,
        localize=True,
        error_messages={"required": "Indiquez la valeur mesurée.", "invalid": "Indiquez un nombre."},
    )
    value2 = forms.DecimalField(
        label="Pression diastolique (tension uniquement)",
        required=False,
        max_digits=8,
        decimal_places=2,
        localize=True,
        error_messages={"invalid": "Indiquez un nombre."},
    )
    measured_on = forms.DateField(
        label="Date de la mesure", widget=DateInput(), error_messages={"required": "Indiquez la date de la mesure."}
    )

    def __init__(self, *args, is_minor: bool = False, **kwargs) -> None:
        self.is_minor = is_minor
        super().__init__(*args, **kwargs)

    def clean_measured_on(self) -> datetime.date:
        return _past_date(self.cleaned_data["measured_on"])

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            measure_check(data["kind"], data.get("value"), data.get("value2"), is_minor=self.is_minor)
        except ValidationError as error:
            self.add_error(None, error)
        return data


class ProfessionalForm(DsfrBaseForm):
    role = forms.ChoiceField(label="Rôle", choices=ProfessionalRole.choices)
    rpps = forms.CharField(
        label="Numéro RPPS du professionnel",
        help_text="11 chiffres, sur l’ordonnance ou la carte du professionnel.",
        max_length=11,
        min_length=11,
        error_messages={
            "required": "Indiquez le numéro RPPS.",
            "min_length": "Le numéro RPPS compte 11 chiffres.",
            "max_length": "Le numéro RPPS compte 11 chiffres.",
        },
    )

    def clean_rpps(self) -> str:
        rpps = self.cleaned_data["rpps"].strip()
        if not rpps.isdigit():
            raise ValidationError("Le numéro RPPS ne contient que des chiffres.")
        return rpps


class OrganDonationForm(DsfrBaseForm):
    acknowledged = forms.BooleanField(
        label="J’ai pris connaissance de ces informations sur le don d’organes",
        error_messages={"required": "Cochez la case pour confirmer votre lecture."},
    )


class DirectivesForm(DsfrBaseForm):
    situations = _text(
        "Dans quelles situations ces directives s’appliquent-elles ?",
        max_length=COMMENT_MAX,
        required=False,
        help_text="Par exemple : maladie grave et incurable, coma prolongé jugé irréversible.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    reanimation = forms.ChoiceField(
        label="Réanimation cardio-respiratoire", choices=DirectiveChoice.choices, widget=forms.RadioSelect
    )
    ventilation = forms.ChoiceField(
        label="Respiration artificielle (ventilation mécanique)",
        choices=DirectiveChoice.choices,
        widget=forms.RadioSelect,
    )
    nutrition = forms.ChoiceField(
        label="Alimentation et hydratation artificielles", choices=DirectiveChoice.choices, widget=forms.RadioSelect
    )
    sedation = forms.ChoiceField(
        label="Sédation profonde et continue jusqu’au décès pour soulager mes souffrances",
        choices=DirectiveChoice.choices,
        widget=forms.RadioSelect,
    )
    wishes = _comment("Autres souhaits (lieu de fin de vie, accompagnement, croyances…)")
    confirm = forms.BooleanField(
        label="Je suis majeur(e), je rédige ces directives moi-même et en pleine conscience",
        error_messages={"required": "Cochez la case pour confirmer que vous rédigez vous-même ces directives."},
    )


class SynthesisForm(DsfrBaseForm):
    sections = forms.MultipleChoiceField(
        label="Rubriques à inclure",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choisissez au moins une rubrique."},
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sections"].choices = choices


FORMS = {
    Section.MALADIES: DiseaseForm,
    Section.TRAITEMENTS: TreatmentForm,
    Section.HOSPITALISATIONS: HospitalisationForm,
    Section.ANTECEDENTS: FamilyHistoryForm,
    Section.ALLERGIES: AllergyForm,
    Section.VACCINATIONS: VaccinationForm,
    Section.GROUPE_SANGUIN: BloodGroupForm,
    Section.HANDICAPS: HandicapForm,
    Section.HABITUDES: HabitsForm,
    Section.CONTACTS: ContactForm,
    Section.CONFIANCE: TrustedPersonForm,
}
