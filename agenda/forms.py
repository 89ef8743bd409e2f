import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from dsfr.forms import DsfrBaseForm

from agenda.enums import FeedDetail, PreventionState
from agenda.models import NOTE_MAX_LENGTH
from agenda.times import YEARS_AROUND, next_day_start, paris_datetime, start_of_day

NOTE_ERRORS = {
    "max_length": "La note ne doit pas dépasser %(limit_value)s caractères (elle en compte %(show_value)s)."
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%H:%M", **kwargs)


def _profile_field(profiles) -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Pour qui ?",
        choices=[(str(p.public_id), p.display_name) for p in profiles],
        error_messages={"invalid_choice": "Choisissez une personne de la liste."},
    )


class EntryForm(DsfrBaseForm):
    """Shared by appointments and reminders: who, when (Paris time), and a note."""

    def __init__(self, *args, profiles=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.profiles = list(profiles)
        if len(self.profiles) > 1:
            self.fields = {"patient": _profile_field(self.profiles), **self.fields}

    def clean_date(self) -> datetime.date:
        value = self.cleaned_data["date"]
        today = timezone.localdate()
        earliest = today.replace(year=today.year - YEARS_AROUND, day=1)
        latest = today.replace(year=today.year + YEARS_AROUND, day=1)
        if not earliest <= value <= latest:
            raise ValidationError(
                f"La date doit être comprise entre le {earliest:%d/%m/%Y} et le {latest:%d/%m/%Y}.",
                code="out_of_range",
            )
        return value

    def chosen_patient(self, default):
        if "patient" not in self.fields:
            return default
        wanted = self.cleaned_data["patient"]
        return next(p for p in self.profiles if str(p.public_id) == wanted)

    def _at(self, field: str, day: datetime.date, at: datetime.time):
        try:
            return paris_datetime(day, at)
        except ValidationError as error:
            self.add_error(field, error)
            return None


class AppointmentForm(EntryForm):
    professional_name = forms.CharField(
        label="Professionnel ou service de santé",
        max_length=150,
        help_text="Par exemple : Dr Anne Martin, ou Centre de radiologie Saint-Cyprien.",
    )
    specialty = forms.CharField(label="Spécialité", max_length=100, required=False)
    address = forms.CharField(label="Adresse", max_length=250, required=False)
    date = forms.DateField(label="Date", widget=DateInput())
    start_time = forms.TimeField(label="Heure de début", widget=TimeInput(), help_text="Heure de Paris.")
    end_time = forms.TimeField(label="Heure de fin", widget=TimeInput(), required=False)
    note = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        error_messages=NOTE_ERRORS,
    )

    def clean_professional_name(self) -> str:
        value = self.cleaned_data["professional_name"].strip()
        if not value:
            raise ValidationError("Indiquez le professionnel ou le service de santé.")
        return value

    def clean(self) -> dict:
        data = super().clean()
        day, start, end = data.get("date"), data.get("start_time"), data.get("end_time")
        if day is None or start is None:
            return data
        data["starts_at"] = self._at("start_time", day, start)
        data["ends_at"] = self._at("end_time", day, end) if end is not None else None
        data["all_day"] = False
        if data["starts_at"] and data["ends_at"] and data["ends_at"] <= data["starts_at"]:
            self.add_error("end_time", "L’heure de fin doit être après l’heure de début.")
        return data

    def entry_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "professional_name": data["professional_name"],
            "specialty": data["specialty"].strip(),
            "address": data["address"].strip(),
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "all_day": False,
            "note": data["note"],
        }


class ReminderForm(EntryForm):
    title = forms.CharField(label="Titre", max_length=150, help_text="Par exemple : renouveler l’ordonnance.")
    date = forms.DateField(label="Date", widget=DateInput())
    time = forms.TimeField(
        label="Heure",
        widget=TimeInput(),
        required=False,
        help_text="Facultative : sans heure, le rappel dure la journée.",
    )
    note = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        error_messages=NOTE_ERRORS,
    )

    def clean_title(self) -> str:
        value = self.cleaned_data["title"].strip()
        if not value:
            raise ValidationError("Donnez un titre au rappel.")
        return value

    def clean(self) -> dict:
        data = super().clean()
        day, at = data.get("date"), data.get("time")
        if day is None:
            return data
        if at is None:
            data.update(starts_at=start_of_day(day), ends_at=next_day_start(day), all_day=True)
        else:
            data.update(starts_at=self._at("time", day, at), ends_at=None, all_day=False)
        return data

    def entry_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "all_day": data["all_day"],
            "note": data["note"],
        }


class AgendaSettingsForm(DsfrBaseForm):
    reminders_enabled = forms.BooleanField(
        label="Recevoir un rappel la veille et le matin de chaque rendez-vous (e-mail, et SMS si un numéro est connu)",
        required=False,
    )
    prevention_enabled = forms.BooleanField(
        label="Afficher les suggestions de prévention (vaccins, examens, dépistages)", required=False
    )
    feed_detail = forms.ChoiceField(
        label="Ce que montre le lien d’abonnement",
        choices=FeedDetail.choices,
        widget=forms.RadioSelect,
        help_text="Les applications de calendrier conservent ces informations hors de Mon espace santé.",
    )

    def __init__(self, *args, with_feed: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_feed:
            del self.fields["feed_detail"]


class PreventionStateForm(DsfrBaseForm):
    state = forms.ChoiceField(label="Où en êtes-vous ?", choices=PreventionState.choices, widget=forms.RadioSelect)
    done_on = forms.DateField(label="Date de réalisation", widget=DateInput(), required=False)
    record_in_profile = forms.BooleanField(label="Ajouter cette vaccination à mon profil médical", required=False)

    def __init__(self, *args, can_record: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not can_record:
            del self.fields["record_in_profile"]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("state") == PreventionState.DONE and not data.get("done_on"):
            self.add_error("done_on", "Indiquez la date à laquelle c’est fait.")
        done_on = data.get("done_on")
        if done_on and done_on > timezone.localdate():
            self.add_error("done_on", "La date de réalisation ne peut pas être dans le futur.")
        return data
