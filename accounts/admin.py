"""Agent-facing admin: administrative identity and the phone channel, never medical content.

Issue 9 completes the back-office; this holds the two activation actions agents need from day one:
record an opposition made by phone (code, NIR and card checked exactly like online) and send a new code.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.enums import VitaleCardType
from accounts.models import LegalRepresentation, Patient
from activation.enums import OppositionChannel
from activation.forms import NirField, clean_serial_value
from activation.models import Closure, HealthSpace, Opposition, ProvisionalCode
from activation.services.agents import NothingToDo, contacts_update, death_record
from activation.services.enrolment import (
    Outcome,
    child_profile_activate,
    code_identify,
    new_code_send,
    opposition_record,
)
from activation.services.receipts import receipt_bytes
from activation.services.spaces import ConcurrentChange, InvalidTransition, space_close, space_reopen
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record


class RepresentativesInline(admin.TabularInline):
    model = LegalRepresentation
    fk_name = "represented"
    fields = ("representative", "kind", "started_on", "ended_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "représentant légal"
    verbose_name_plural = "représentants légaux"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PhoneOppositionForm(forms.Form):
    code = forms.CharField(label="Code provisoire lu par la personne", max_length=24)
    nir = NirField(help_text="Pour un enfant : celui du titulaire de la carte Vitale.")
    card_type = forms.ChoiceField(label="Modèle de carte Vitale", choices=VitaleCardType.choices)
    serial = forms.CharField(label="Numéro de série de la carte Vitale", max_length=30)

    def clean_serial(self) -> str:
        return clean_serial_value(self.cleaned_data["serial"])


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(label="Je confirme", error_messages={"required": "Cochez la case pour confirmer."})


class ContactsForm(forms.Form):
    email = forms.EmailField(label="Adresse e-mail", required=False)
    phone = forms.RegexField(
        label="Téléphone mobile",
        regex=r"^(\+33|0)[67]\d{8}$",
        required=False,
        error_messages={"invalid": "Numéro de mobile français attendu, par exemple 0612345678."},
    )
    check_note = forms.CharField(
        label="Comment l’identité a été vérifiée",
        max_length=200,
        help_text="Par exemple : pièce d’identité présentée au guichet, questions sur le dossier.",
    )


class CloseForm(ConfirmForm):
    delete_data = forms.BooleanField(label="La personne demande aussi la suppression de ses données", required=False)


class DeathForm(ConfirmForm):
    died_on = forms.DateField(label="Date du décès", help_text="JJ/MM/AAAA", input_formats=["%d/%m/%Y", "%Y-%m-%d"])

    def clean_died_on(self):
        from django.utils import timezone

        value = self.cleaned_data["died_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("La date du décès ne peut pas être dans le futur.")
        return value


class ChildDecisionForm(ConfirmForm):
    decision = forms.ChoiceField(
        label="Décision du parent",
        choices=[("activer", "Activer le profil de l’enfant"), ("opposer", "S’opposer à la création du profil")],
        widget=forms.RadioSelect,
    )


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("birth_name", "first_names", "birth_date", "postal_code", "space_status")
    list_select_related = ("space",)
    search_fields = ("nir",)  # see get_search_results
    search_help_text = (
        "Numéro de sécurité sociale complet, adresse e-mail, ou nom de naissance suivi de la date de naissance "
        "(DUPONT 14/03/1985)"
    )
    fields = (
        "nir",
        "birth_name",
        "used_name",
        "first_names",
        "birth_date",
        "sex",
        "birth_place_insee",
        "email",
        "phone",
        "address_line",
        "postal_code",
        "city",
        "vitale_card_type",
        "card_holder",
        "deceased_on",
        "space_status",
    )
    readonly_fields = fields  # civil status is corrected through INSEE, not here
    inlines = [RepresentativesInline]
    show_full_result_count = False
    change_form_template = "admin/accounts/patient/change_form.html"

    @admin.display(description="état de Mon espace santé")
    def space_status(self, patient: Patient) -> str:
        space = getattr(patient, "space", None)
        return space.get_status_display() if space else "pas encore informé"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        """NIR, e-mail, or birth name followed by a date of birth (DUPONT 14/03/1985)."""
        import datetime
        import re

        term = search_term.strip()
        if not term:
            return queryset, False
        compact = term.replace(" ", "").upper()
        if re.fullmatch(r"[0-9AB]{13}[0-9]{2}", compact):
            return queryset.filter(nir=compact), False
        if "@" in term:
            return queryset.filter(email__iexact=term), False
        match = re.fullmatch(r"(?P<name>.+?)\s+(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})", term)
        if match:
            try:
                born = datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return queryset.none(), False
            return queryset.filter(birth_name__iexact=match["name"].strip(), birth_date=born), False
        return queryset.filter(birth_name__iexact=term), False

    def get_urls(self):
        action = self.admin_site.admin_view
        own = [
            path("<int:pk>/coordonnees/", action(self.update_contacts), name="patient_contacts"),
            path("<int:pk>/cloture/", action(self.close_space), name="patient_close"),
            path("<int:pk>/reouverture/", action(self.reopen_space), name="patient_reopen"),
            path("<int:pk>/deces/", action(self.record_death), name="patient_death"),
            path("<int:pk>/profil-enfant/", action(self.child_profile), name="patient_child_profile"),
            path("<int:pk>/opposition/", self.admin_site.admin_view(self.phone_opposition), name="patient_opposition"),
            path("<int:pk>/nouveau-code/", self.admin_site.admin_view(self.send_new_code), name="patient_new_code"),
            path(
                "opposition/<uuid:public_id>/justificatif.pdf",
                self.admin_site.admin_view(self.opposition_receipt),
                name="patient_opposition_receipt",
            ),
        ]
        return own + super().get_urls()

    def _context(self, request, patient: Patient, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": patient,
            "title": title,
            **extra,
        }

    def phone_opposition(self, request, pk: int):
        """An opposition by phone or at a desk: the code, NIR and card are checked exactly as online."""
        if not request.user.has_perm("activation.add_opposition"):
            raise PermissionDenied
        patient = get_object_or_404(Patient, pk=pk)
        form = PhoneOppositionForm(request.POST or None)
        if form.is_valid():
            result = code_identify(
                code=form.cleaned_data["code"],
                nir=form.cleaned_data["nir"],
                card_type=form.cleaned_data["card_type"],
                serial=form.cleaned_data["serial"],
                address=request.client_ip,
                actor=request.actor,
            )
            if result.outcome == Outcome.OK and result.patient.pk == patient.pk:
                try:
                    opposition = opposition_record(
                        patient=patient, channel=OppositionChannel.PHONE, by=request.actor, code=result.code
                    )
                except (ConcurrentChange, InvalidTransition):
                    form.add_error(
                        None, "L’opposition n’est plus possible pour ce profil (déjà enregistrée, ouvert ou clôturé)."
                    )
                else:
                    messages.success(request, f"Opposition enregistrée, référence {opposition.reference}.")
                    return redirect(
                        reverse("admin:accounts_patient_change", args=[patient.pk])
                        + f"?opposition={opposition.public_id}"
                    )
            elif result.outcome == Outcome.THROTTLED:
                form.add_error(None, "Trop de tentatives pour ce numéro : réessayez plus tard.")
            else:
                form.add_error(None, "Les informations ne correspondent pas à un code valide de cette personne.")
        context = self._context(request, patient, f"Opposition par téléphone — {patient}", form=form)
        return TemplateResponse(request, "admin/accounts/patient/phone_opposition.html", context)

    def send_new_code(self, request, pk: int):
        if not request.user.has_perm("activation.add_provisionalcode"):
            raise PermissionDenied
        patient = get_object_or_404(Patient, pk=pk)
        form = ConfirmForm(request.POST or None)
        if form.is_valid():
            channel = new_code_send(patient=patient, by=request.actor)
            if channel is None:
                messages.error(
                    request, "Aucune adresse e-mail ni aucun mobile connus : mettez d’abord à jour les coordonnées."
                )
            else:
                messages.success(
                    request, f"Un nouveau code a été envoyé ({'e-mail' if channel == 'email' else 'SMS'})."
                )
            return redirect("admin:accounts_patient_change", patient.pk)
        context = self._context(request, patient, f"Envoyer un nouveau code — {patient}", form=form)
        return TemplateResponse(request, "admin/accounts/patient/new_code.html", context)

    def opposition_receipt(self, request, public_id):
        if not request.user.has_perm("activation.view_opposition"):
            raise PermissionDenied
        opposition = get_object_or_404(Opposition.objects.select_related("space__patient"), public_id=public_id)
        if not opposition.receipt_name:
            messages.info(request, "Le justificatif est en cours de préparation.")
            return redirect("admin:accounts_patient_change", opposition.space.patient.pk)
        record(Action.RECEIPT_DOWNLOADED, actor=request.actor, patient=opposition.space.patient, target=opposition)
        response = HttpResponse(receipt_bytes(opposition.receipt_name), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="justificatif-opposition-{opposition.reference}.pdf"'
        return response

    def _confirmed_action(self, request, pk: int, *, permission: str, form_class, title: str, template: str, act):
        """One pattern for every action: permission, confirmation form, service call, French outcome."""
        if not request.user.has_perm(permission):
            raise PermissionDenied
        patient = get_object_or_404(Patient.objects.select_related("space", "card_holder"), pk=pk)
        form = form_class(
            request.POST or None,
            **({"initial": {"email": patient.email, "phone": patient.phone}} if form_class is ContactsForm else {}),
        )
        if form.is_valid():
            try:
                message = act(patient, form.cleaned_data)
            except (ConcurrentChange, InvalidTransition):
                form.add_error(
                    None,
                    "Cette action n’est plus possible : l’état du profil a changé "
                    "(déjà fait, ou fait par un autre conseiller).",
                )
            except (NothingToDo, HealthSpace.DoesNotExist) as error:
                form.add_error(None, str(error) or "Cette personne n’a pas encore d’espace.")
            else:
                messages.success(request, message)
                return redirect("admin:accounts_patient_change", patient.pk)
        context = self._context(request, patient, f"{title} — {patient}", form=form)
        return TemplateResponse(request, template, context)

    def update_contacts(self, request, pk: int):
        def act(patient, data):
            contacts_update(
                patient=patient,
                email=data["email"],
                phone=data["phone"],
                check_note=data["check_note"],
                by=request.actor,
            )
            return "Coordonnées mises à jour. Les codes provisoires non utilisés ont été annulés."

        return self._confirmed_action(
            request,
            pk,
            permission="activation.update_contacts",
            form_class=ContactsForm,
            title="Mettre à jour les coordonnées",
            template="admin/accounts/patient/action.html",
            act=act,
        )

    def close_space(self, request, pk: int):
        def act(patient, data):
            closure = space_close(
                space=HealthSpace.objects.get(patient=patient),
                by=request.actor,
                deletion_requested=data["delete_data"],
                reason="request_to_agent",
            )
            return f"Profil clôturé, référence {closure.reference}."

        return self._confirmed_action(
            request,
            pk,
            permission="activation.close_space",
            form_class=CloseForm,
            title="Clôturer le profil",
            template="admin/accounts/patient/action.html",
            act=act,
        )

    def reopen_space(self, request, pk: int):
        def act(patient, data):
            space_reopen(space=HealthSpace.objects.get(patient=patient), by=request.actor)
            return "Profil rouvert : les données archivées sont restituées."

        return self._confirmed_action(
            request,
            pk,
            permission="activation.close_space",
            form_class=ConfirmForm,
            title="Rouvrir le profil",
            template="admin/accounts/patient/action.html",
            act=act,
        )

    def record_death(self, request, pk: int):
        def act(patient, data):
            death_record(patient=patient, died_on=data["died_on"], by=request.actor)
            return "Décès enregistré ; le profil est clôturé."

        return self._confirmed_action(
            request,
            pk,
            permission="activation.record_death",
            form_class=DeathForm,
            title="Enregistrer un décès",
            template="admin/accounts/patient/action.html",
            act=act,
        )

    def child_profile(self, request, pk: int):
        """A parent at the desk or on the phone decides for a child attached to their card."""

        def act(patient, data):
            if patient.card_holder_id is None:
                raise NothingToDo("Cette personne n’est pas rattachée à la carte Vitale d’un parent.")
            if data["decision"] == "activer":
                child_profile_activate(child=patient, by=request.actor)
                return f"Le profil de {patient.display_name} est activé."
            opposition = opposition_record(
                patient=patient, channel=OppositionChannel.DESK, by=request.actor, code=None
            )
            return f"Opposition enregistrée pour {patient.display_name}, référence {opposition.reference}."

        return self._confirmed_action(
            request,
            pk,
            permission="activation.decide_child_profile",
            form_class=ChildDecisionForm,
            title="Profil d’un enfant",
            template="admin/accounts/patient/action.html",
            act=act,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        patient = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if patient is not None:
            space = HealthSpace.objects.filter(patient=patient).select_related("information__chunk").first()
            extra.update(
                {
                    "space": space,
                    "information": getattr(space, "information", None) if space else None,
                    "codes": list(ProvisionalCode.objects.filter(patient=patient).order_by("-issued_at")[:10]),
                    "oppositions": list(Opposition.objects.filter(space__patient=patient).order_by("-recorded_at")),
                    "closures": list(Closure.objects.filter(space__patient=patient).order_by("-closed_at")),
                    "children": list(Patient.objects.filter(card_holder=patient).select_related("space")),
                    "represented": list(
                        LegalRepresentation.objects.filter(representative=patient).select_related("represented")
                    ),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)
