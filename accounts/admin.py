"""Agent-facing admin: administrative identity and the phone channel, never medical content.

Issue 9 completes the back-office; this holds the two activation actions agents need from day one:
record an opposition made by phone (code, NIR and card checked exactly like online) and send a new code.
"""

import datetime
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts import admin_establishments  # noqa: F401 - registers the "Établissements" pages
from accounts.enums import VitaleCardType
from accounts.models import LegalRepresentation, Patient
from accounts.services import (
    ContactChangeOutcome,
    ContactChangeRefused,
    agent_change_cancel,
    agent_change_pending,
    agent_code_channels,
    agent_code_confirm,
    agent_code_send,
)
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
from espace_sante.access import policy
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


class ReadBackCodeForm(forms.Form):
    token = forms.RegexField(
        label="Code lu par la personne",
        regex=r"^\s*\d{3}\s*\d{3}\s*$",
        error_messages={"invalid": "Le code compte 6 chiffres."},
    )

    def clean_token(self) -> str:
        return "".join(self.cleaned_data["token"].split())


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


SESSION_FOUND = "agent_found_patients"  # pks of the people this agent found by a search in this session
FOUND_KEPT = 50
SEARCH_REFUSED = (
    "Recherche non prise en charge : saisissez le numéro de sécurité sociale complet (15 caractères), "
    "l’adresse e-mail, ou le nom de naissance suivi de la date de naissance (DUPONT 14/03/1985)."
)
FIND_FIRST = (
    "Recherchez d’abord la personne (numéro de sécurité sociale, adresse e-mail, ou nom de naissance et "
    "date de naissance) : une fiche ne s’ouvre qu’après l’avoir trouvée, dans le périmètre de votre organisme."
)


def _search_kind(term: str):
    """("nir", NIR) | ("email", address) | ("birth", (name, date)) | (None, None) for anything else."""
    compact = term.replace(" ", "").upper()
    if re.fullmatch(r"[0-9AB]{13}[0-9]{2}", compact):
        return "nir", compact
    if "@" in term:
        return "email", term
    match = re.fullmatch(r"(?P<name>.+?)\s+(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})", term)
    if match:
        try:
            born = datetime.date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            return None, None
        return "birth", (match["name"].strip(), born)
    return None, None


def _remember_found(request, pks: list[int]) -> None:
    if not pks:
        return
    found = [pk for pk in request.session.get(SESSION_FOUND, []) if pk not in pks]
    request.session[SESSION_FOUND] = (found + pks)[-FOUND_KEPT:]


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
    search_required = True  # people are found, never browsed (espace_sante.admin_site.DeclaredLookupsAdmin)
    change_form_template = "admin/accounts/patient/change_form.html"

    @admin.display(description="état de Mon espace santé")
    def space_status(self, patient: Patient) -> str:
        space = getattr(patient, "space", None)
        return space.get_status_display() if space else "pas encore informé"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        """Only the people of the agent's territory (policy.patients_for_agent)."""
        return policy.patients_for_agent(request.actor, super().get_queryset(request))

    def get_search_results(self, request, queryset, search_term):
        """NIR, e-mail, or birth name followed by a date of birth (DUPONT 14/03/1985); nothing else.

        A name alone would list homonyms with their birth dates; an empty search would list everyone.
        """
        term = search_term.strip()
        if not term:
            return queryset.none(), False
        kind, value = _search_kind(term)
        if kind is None:
            messages.warning(request, SEARCH_REFUSED)
            return queryset.none(), False
        if kind == "nir":
            return queryset.filter(nir=value), False
        if kind == "email":
            return queryset.filter(email__iexact=value), False
        if kind == "birth":
            name, born = value
            return queryset.filter(birth_name__iexact=name, birth_date=born), False
        return queryset.none(), False

    def changelist_view(self, request, extra_context=None):
        """A search that finds people is traced in each person's access history ("Conseillers")."""
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None and changelist.query.strip():
            kind, _ = _search_kind(changelist.query.strip())
            found = list(changelist.result_list)
            for patient in found:
                record(Action.AGENT_PATIENT_FOUND, actor=request.actor, patient=patient, search=kind or "")
            _remember_found(request, [patient.pk for patient in found])
        return response

    def _patient(self, request, pk, queryset=None) -> Patient:
        """A person the agent found by a search in this session (or reached from one), in their territory."""
        scoped = policy.patients_for_agent(request.actor, Patient.objects.all() if queryset is None else queryset)
        patient = get_object_or_404(scoped, pk=pk)
        if patient.pk not in request.session.get(SESSION_FOUND, []):
            raise Http404
        return patient

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def get_object(self, request, object_id, from_field=None):
        patient = super().get_object(request, object_id, from_field)
        if patient is not None and patient.pk not in request.session.get(SESSION_FOUND, []):
            return None
        return patient

    def get_urls(self):
        action = self.admin_site.admin_view
        own = [
            path("<int:pk>/coordonnees/", action(self.update_contacts), name="patient_contacts"),
            path("<int:pk>/coordonnees/confirmation/", action(self.confirm_contacts), name="patient_contacts_confirm"),
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
        patient = self._patient(request, pk)
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
        patient = self._patient(request, pk)
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
        self._patient(request, opposition.space.patient_id)
        if not opposition.receipt_name:
            messages.info(request, "Le justificatif est en cours de préparation.")
            return redirect("admin:accounts_patient_change", opposition.space.patient.pk)
        record(Action.RECEIPT_DOWNLOADED, actor=request.actor, patient=opposition.space.patient, target=opposition)
        response = HttpResponse(receipt_bytes(opposition.receipt_name), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="justificatif-opposition-{opposition.reference}.pdf"'
        return response

    def _confirmed_action(
        self, request, pk: int, *, permission: str, form_class, title: str, template: str, act, then: str = ""
    ):
        """One pattern for every action: permission, confirmation form, service call, French outcome."""
        if not request.user.has_perm(permission):
            raise PermissionDenied
        patient = self._patient(request, pk, Patient.objects.select_related("space", "card_holder"))
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
                # `then` is a URL name chosen by the caller, never request data.
                return redirect(reverse(then or "admin:accounts_patient_change", args=[patient.pk]))
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
            return (
                "Demande enregistrée. Les nouvelles coordonnées ne seront utilisées qu’après confirmation par la "
                "personne : par le lien envoyé à ses nouvelles coordonnées, ou par le code envoyé à ses coordonnées "
                "actuelles qu’elle vous lit. Ses coordonnées actuelles ont été prévenues."
            )

        return self._confirmed_action(
            request,
            pk,
            permission="activation.update_contacts",
            form_class=ContactsForm,
            title="Mettre à jour les coordonnées",
            template="admin/accounts/patient/action.html",
            act=act,
            then="admin:patient_contacts_confirm",
        )

    def confirm_contacts(self, request, pk: int):
        """The pending change an agent typed: a code sent to the contacts in use, read back by the person."""
        if not request.user.has_perm("activation.update_contacts"):
            raise PermissionDenied
        patient = self._patient(request, pk, Patient.objects.select_related("user"))
        change = agent_change_pending(patient)
        if change is None:
            messages.info(request, "Aucune modification de coordonnées n’est en attente pour cette personne.")
            return redirect("admin:accounts_patient_change", patient.pk)
        channels = agent_code_channels(patient)
        form = ReadBackCodeForm(request.POST if "confirm" in request.POST else None)
        if request.method == "POST" and "cancel" in request.POST:
            agent_change_cancel(change=change, by=request.actor)
            messages.success(request, "La demande de modification est annulée ; rien n’a changé.")
            return redirect("admin:accounts_patient_change", patient.pk)
        if request.method == "POST" and "send" in request.POST:
            try:
                sent = agent_code_send(change=change, channel=request.POST["send"], by=request.actor)
            except ContactChangeRefused as refusal:
                messages.error(request, str(refusal))
            else:
                if sent:
                    messages.success(request, "Code envoyé : demandez à la personne de vous le lire.")
                else:
                    messages.info(
                        request, "Un code vient d’être envoyé : attendez une minute avant d’en demander un autre."
                    )
            return redirect("admin:patient_contacts_confirm", patient.pk)
        if form.is_valid():
            outcome = agent_code_confirm(change=change, token=form.cleaned_data["token"], by=request.actor)
            if outcome == ContactChangeOutcome.CONFIRMED:
                messages.success(
                    request,
                    "Nouvelles coordonnées enregistrées. Les sessions ouvertes de la personne sont fermées et les "
                    "codes provisoires non utilisés annulés.",
                )
                return redirect("admin:accounts_patient_change", patient.pk)
            if outcome == ContactChangeOutcome.LOST:
                messages.error(
                    request, "Trop de codes erronés ou code expiré : la demande est annulée, rien n’a changé."
                )
                return redirect("admin:accounts_patient_change", patient.pk)
            form.add_error("token", "Code incorrect ou expiré.")
        context = self._context(
            request,
            patient,
            f"Confirmer les nouvelles coordonnées — {patient}",
            form=form,
            change=change,
            channels=channels,
        )
        return TemplateResponse(request, "admin/accounts/patient/contacts_confirm.html", context)

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
        """The person's page: traced in their access history (tab "Conseillers"), administrative data only."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        patient = self.get_object(request, object_id)
        if patient is None:
            messages.error(request, FIND_FIRST)
            return redirect("admin:accounts_patient_changelist")
        if request.method == "GET":
            record(Action.AGENT_PATIENT_VIEWED, actor=request.actor, patient=patient)
        space = HealthSpace.objects.filter(patient=patient).select_related("information__chunk").first()
        in_scope = policy.patients_for_agent(request.actor, Patient.objects.all())
        extra = {
            **(extra_context or {}),
            "space": space,
            "information": getattr(space, "information", None) if space else None,
            "codes": list(ProvisionalCode.objects.filter(patient=patient).order_by("-issued_at")[:10]),
            "pending_contacts": agent_change_pending(patient),
            "oppositions": list(Opposition.objects.filter(space__patient=patient).order_by("-recorded_at")),
            "closures": list(Closure.objects.filter(space__patient=patient).order_by("-closed_at")),
            "children": list(in_scope.filter(card_holder=patient).select_related("space")),
            "represented": list(
                LegalRepresentation.objects.filter(representative=patient, represented__in=in_scope).select_related(
                    "represented"
                )
            ),
        }
        # A parent at the desk acts for the children on their card and the people they represent.
        _remember_found(request, [child.pk for child in extra["children"]])
        _remember_found(request, [link.represented_id for link in extra["represented"]])
        return super().change_view(request, object_id, form_url, extra_context=extra)
