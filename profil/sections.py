"""The section registry: one definition per questionnaire section drives the generic views, the professional view
and the PDF synthesis (form, labels, what professionals see, how an entry reads)."""

import datetime
from dataclasses import dataclass

from django import forms

from profil.enums import Section
from profil.forms import FORMS, EntryForm, PartialDateField, partial_bounds, partial_display
from profil.models import SINGLE_ENTRY_SECTIONS, ProfileEntry

QUESTIONNAIRE = "questionnaire"
ENTOURAGE = "entourage"


@dataclass(frozen=True)
class SectionDef:
    key: Section
    singular: str  # "une maladie": used in "Ajouter une maladie"
    empty: str
    group: str = QUESTIONNAIRE
    shared: bool = False  # seen by professionals who may read the medical record
    title_field: str | None = "name"  # None: the section's label titles its only entry
    date_field: str | None = None  # sorts the list (most recent first)
    related: tuple[Section, ...] = ()  # sections an entry may be linked to (linked_to field)

    @property
    def label(self) -> str:
        return self.key.label

    @property
    def form(self) -> type[EntryForm]:
        return FORMS[self.key]

    @property
    def single(self) -> bool:
        return self.key in SINGLE_ENTRY_SECTIONS

    def sort_date(self, values: dict) -> datetime.date | None:
        raw = values.get(self.date_field) if self.date_field else None
        return partial_bounds(raw)[0] if raw else None


SECTIONS: dict[str, SectionDef] = {
    s.key.value: s
    for s in (
        SectionDef(Section.MALADIES, "une maladie", "Aucune maladie renseignée.", shared=True, date_field="start"),
        SectionDef(
            Section.TRAITEMENTS,
            "un traitement",
            "Aucun traitement renseigné.",
            date_field="start",
            related=(Section.MALADIES, Section.ALLERGIES),
        ),
        SectionDef(
            Section.HOSPITALISATIONS,
            "une hospitalisation",
            "Aucune hospitalisation renseignée.",
            shared=True,
            date_field="start",
        ),
        SectionDef(Section.ANTECEDENTS, "un antécédent", "Aucun antécédent familial renseigné."),
        SectionDef(Section.ALLERGIES, "une allergie", "Aucune allergie renseignée.", shared=True),
        SectionDef(
            Section.VACCINATIONS, "une vaccination", "Aucune vaccination renseignée.", shared=True, date_field="date"
        ),
        SectionDef(Section.GROUPE_SANGUIN, "votre groupe sanguin", "Groupe sanguin non renseigné."),
        SectionDef(Section.HANDICAPS, "un handicap", "Aucun handicap renseigné."),
        SectionDef(Section.HABITUDES, "vos habitudes de vie", "Habitudes de vie non renseignées.", title_field=None),
        SectionDef(Section.CONTACTS, "un contact", "Aucun contact d’urgence renseigné.", group=ENTOURAGE),
        SectionDef(
            Section.CONFIANCE, "votre personne de confiance", "Aucune personne de confiance désignée.", group=ENTOURAGE
        ),
    )
}
SHARED_SECTIONS = tuple(key for key, s in SECTIONS.items() if s.shared)


def section_def(key: str) -> SectionDef | None:
    return SECTIONS.get(key)


def _text(field: forms.Field, value, labels: dict[str, str]) -> str:
    if isinstance(field, forms.BooleanField):
        return "oui" if value else "non"
    if isinstance(field, PartialDateField):
        return partial_display(value)
    if isinstance(field, forms.DateField):
        return partial_display(value)
    if isinstance(field, forms.ChoiceField) and field.choices:
        return str(dict(field.choices).get(value, labels.get(value, value)))
    return str(value)


@dataclass(frozen=True)
class EntryView:
    """An entry ready to display: its title and the (label, text) pairs of its other values."""

    entry: ProfileEntry
    title: str
    facts: list[tuple[str, str]]

    @property
    def public_id(self):
        return self.entry.public_id


def entry_views(definition: SectionDef, entries, *, labels: dict[str, str] | None = None) -> list[EntryView]:
    """`labels` maps related entries' public ids to their names (a treatment's linked disease)."""
    form = definition.form()
    views = []
    for entry in entries:
        values = entry.values
        facts = [
            (str(field.label), _text(field, values[name], labels or {}))
            for name, field in form.fields.items()
            if name != definition.title_field and values.get(name) not in (None, "", False)
        ]
        title = definition.label
        if definition.title_field:
            title = _text(form.fields[definition.title_field], values.get(definition.title_field, ""), {})
        views.append(EntryView(entry=entry, title=title, facts=facts))
    return views


def related_choices(definition: SectionDef, entries) -> list[tuple[str, str]]:
    """Choices for a `linked_to` field: (public id, "Allergie : pénicilline")."""
    names = {"maladies": "Maladie", "allergies": "Allergie"}
    return [(str(e.public_id), f"{names.get(e.section, e.section)} : {e.values.get('name', '')}") for e in entries]
