"""The agenda: list, month and week views, entries, exports and the private feed, prevention suggestions."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agenda import ics, prevention, queries, services
from agenda.enums import EntryKind, FeedDetail, PreventionState
from agenda.forms import AgendaSettingsForm, AppointmentForm, PreventionStateForm, ReminderForm
from espace_sante.access import policy
from espace_sante.access.decorators import patient_required

PAGE_SIZE = 20
FEED_HISTORY = datetime.timedelta(days=365)


def _context(request: HttpRequest, title: str, **extra) -> dict:
    return {
        "title": title,
        "profile": request.actor.acting_for,
        "family": len(policy.agenda_profiles(request.actor)) > 1,
        **extra,
    }


def _ics_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Views of the agenda ------------------------------------------------------------------------------------


@patient_required
@require_GET
def entry_list(request: HttpRequest) -> HttpResponse:
    entries = policy.agenda_entries_visible_to(request.actor)
    past = request.GET.get("passes") == "1"
    if past:
        entries = entries.filter(starts_at__lt=timezone.now()).order_by("-starts_at")
    else:
        entries = entries.upcoming()
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "agenda/entry_list.html",
        _context(request, "Mon agenda", page=page, past=past, query="passes=1" if past else ""),
    )


@patient_required
@require_GET
def month(request: HttpRequest) -> HttpResponse:
    notice, status = None, 200
    try:
        first = queries.parse_month(request.GET.get("mois"))
    except queries.OutOfWindow as error:
        notice, status = str(error), 400
        first = timezone.localdate().replace(day=1)
    visible = policy.agenda_entries_visible_to(request.actor)
    weeks = queries.month_grid(first, visible.between)
    context = _context(
        request,
        f"Agenda de {queries.month_label(first)}",
        weeks=weeks,
        month_label=queries.month_label(first),
        previous=queries.in_window(queries.shift_month(first, -1)),
        next=queries.in_window(queries.shift_month(first, 1)),
        weekdays=queries.WEEKDAYS,
        notice=notice,
    )
    return render(request, "agenda/month.html", context, status=status)


@patient_required
@require_GET
def week(request: HttpRequest) -> HttpResponse:
    notice, status = None, 200
    try:
        day = queries.parse_day(request.GET.get("semaine"))
    except queries.OutOfWindow as error:
        notice, status = str(error), 400
        day = timezone.localdate()
    days = queries.week_days(day, policy.agenda_entries_visible_to(request.actor).between)
    context = _context(
        request,
        f"Semaine du {days[0].date:%d/%m/%Y}",
        days=days,
        previous=days[0].date - datetime.timedelta(days=7)
        if queries.in_window(days[0].date - datetime.timedelta(days=1))
        else None,
        next=queries.in_window(days[-1].date + datetime.timedelta(days=1)),
        notice=notice,
    )
    return render(request, "agenda/week.html", context, status=status)


# --- Entries ------------------------------------------------------------------------------------------------

FORMS = {EntryKind.APPOINTMENT: AppointmentForm, EntryKind.REMINDER: ReminderForm}
CREATE_TITLES = {EntryKind.APPOINTMENT: "Ajouter un rendez-vous", EntryKind.REMINDER: "Ajouter un rappel"}


def _entry_create(request: HttpRequest, kind: str) -> HttpResponse:
    actor = request.actor
    profiles = policy.agenda_profiles(actor)
    form = FORMS[kind](request.POST or None, profiles=profiles, initial={"patient": str(actor.acting_for.public_id)})
    if form.is_valid():
        patient = form.chosen_patient(actor.acting_for)
        try:
            entry = services.entry_create(patient=patient, kind=kind, by=actor, **form.entry_fields())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, "Le rendez-vous a été ajouté." if kind == EntryKind.APPOINTMENT else "Le rappel a été ajouté."
            )
            return redirect("agenda:entry_detail", public_id=entry.public_id)
    return render(request, "agenda/entry_form.html", _context(request, CREATE_TITLES[kind], form=form, kind=kind))


@patient_required
@require_http_methods(["GET", "POST"])
def appointment_create(request: HttpRequest) -> HttpResponse:
    return _entry_create(request, EntryKind.APPOINTMENT)


@patient_required
@require_http_methods(["GET", "POST"])
def reminder_create(request: HttpRequest) -> HttpResponse:
    return _entry_create(request, EntryKind.REMINDER)


@patient_required
@require_GET
def entry_detail(request: HttpRequest, public_id) -> HttpResponse:
    entry = policy.agenda_entry_for(request.actor, public_id)
    return render(request, "agenda/entry_detail.html", _context(request, entry.summary, entry=entry))


def _initial(entry) -> dict:
    start, end = entry.local_start, entry.local_end
    initial = {"date": start.date(), "note": entry.note}
    if entry.kind == EntryKind.APPOINTMENT:
        initial.update(
            professional_name=entry.professional_name,
            specialty=entry.specialty,
            address=entry.address,
            start_time=start.time(),
            end_time=end.time() if end else None,
        )
    else:
        initial.update(title=entry.title, time=None if entry.all_day else start.time())
    return initial


@patient_required
@require_http_methods(["GET", "POST"])
def entry_edit(request: HttpRequest, public_id) -> HttpResponse:
    entry = policy.agenda_entry_for(request.actor, public_id, purpose="manage")
    form = FORMS[entry.kind](request.POST or None, initial=_initial(entry))
    if form.is_valid():
        try:
            services.entry_update(entry=entry, by=request.actor, **form.entry_fields())
        except services.NotAllowed as error:
            messages.error(request, str(error))
        except ValidationError as error:
            form.add_error(None, error)
            return render(request, "agenda/entry_form.html", _context(request, "Modifier", form=form, entry=entry))
        else:
            messages.success(request, "Les modifications ont été enregistrées.")
        return redirect("agenda:entry_detail", public_id=entry.public_id)
    return render(
        request, "agenda/entry_form.html", _context(request, "Modifier", form=form, entry=entry, kind=entry.kind)
    )


@patient_required
@require_POST
def entry_cancel(request: HttpRequest, public_id) -> HttpResponse:
    entry = policy.agenda_entry_for(request.actor, public_id, purpose="manage")
    try:
        services.entry_cancel(entry=entry, by=request.actor)
    except services.NotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Le rendez-vous est annulé : aucun rappel ne sera envoyé.")
    return redirect("agenda:entry_detail", public_id=entry.public_id)


@patient_required
@require_http_methods(["GET", "POST"])
def entry_delete(request: HttpRequest, public_id) -> HttpResponse:
    entry = policy.agenda_entry_for(request.actor, public_id, purpose="manage")
    if request.method == "POST":
        services.entry_delete(entry=entry, by=request.actor)
        messages.success(request, "L’événement a été supprimé de l’agenda.")
        return redirect("agenda:index")
    return render(request, "agenda/entry_delete.html", _context(request, "Supprimer l’événement", entry=entry))


# --- Exports and the private feed ---------------------------------------------------------------------------


@patient_required
@require_GET
def entry_ics(request: HttpRequest, public_id) -> HttpResponse:
    entry = policy.agenda_entry_for(request.actor, public_id, purpose="export")
    services.export_trace(by=request.actor, patients=[entry.patient], everything=False)
    content = ics.calendar([entry], detail=FeedDetail.FULL, name="Mon espace santé", owner_pk=request.actor.patient.pk)
    return _ics_response(content, f"rendez-vous-{entry.local_start:%Y-%m-%d}.ics")


@patient_required
@require_GET
def export_ics(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    entries = policy.agenda_entries_visible_to(actor).order_by("starts_at")
    services.export_trace(by=actor, patients=policy.agenda_profiles(actor), everything=True)
    content = ics.calendar(entries, detail=FeedDetail.FULL, name="Mon agenda santé", owner_pk=actor.patient.pk)
    return _ics_response(content, "agenda-sante.ics")


@login_not_required
@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private subscription feed polled by calendar applications: the secret token is the only key."""
    settings_, owner, entries = policy.agenda_feed_for_token(token)
    entries = entries.filter(starts_at__gte=timezone.now() - FEED_HISTORY).order_by("starts_at")
    content = ics.calendar(entries, detail=settings_.feed_detail, name="Mon agenda santé", owner_pk=owner.pk)
    services.feed_read_trace(settings_)
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@patient_required
@require_http_methods(["GET", "POST"])
def agenda_settings(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    patient = actor.acting_for
    current = policy.agenda_settings_for(actor, patient)
    own = policy.agenda_settings_for(actor, actor.patient)
    with_feed = not actor.is_representing
    initial = {
        "reminders_enabled": current.reminders_enabled,
        "prevention_enabled": current.prevention_enabled,
        "feed_detail": current.feed_detail,
    }
    form = AgendaSettingsForm(request.POST or None, initial=initial, with_feed=with_feed)
    if form.is_valid():
        services.settings_update(
            patient=patient,
            by=actor,
            reminders_enabled=form.cleaned_data["reminders_enabled"],
            prevention_enabled=form.cleaned_data["prevention_enabled"],
            feed_detail=form.cleaned_data.get("feed_detail"),
        )
        messages.success(request, "Vos réglages ont été enregistrés.")
        return redirect("agenda:settings")
    return render(request, "agenda/settings.html", _context(request, "Réglages et export", form=form, own=own))


@patient_required
@require_POST
def feed_renew(request: HttpRequest) -> HttpResponse:
    token = services.feed_renew(by=request.actor)
    url = request.build_absolute_uri(reverse("agenda:feed", args=[token]))
    webcal = "webcal://" + url.split("://", 1)[1]
    return render(
        request, "agenda/feed_created.html", _context(request, "Lien d’abonnement créé", url=url, webcal=webcal)
    )


@patient_required
@require_POST
def feed_revoke(request: HttpRequest) -> HttpResponse:
    services.feed_revoke(by=request.actor)
    messages.success(
        request, "Le lien d’abonnement est révoqué : les applications qui l’utilisaient n’y ont plus accès."
    )
    return redirect("agenda:settings")


# --- Prevention ---------------------------------------------------------------------------------------------


@patient_required
@require_GET
def prevention_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    today = timezone.localdate()
    sections = []
    for patient in policy.agenda_profiles(actor):
        settings_ = policy.agenda_settings_for(actor, patient)
        states = policy.prevention_items_for(actor, patient) if settings_.prevention_enabled else {}
        items = (
            [
                {"milestone": m, "timing": m.timing(today), "state": states.get(m.rule.code)}
                for m in prevention.milestones_for(patient.birth_date, patient.sex, today)
            ]
            if settings_.prevention_enabled
            else []
        )
        sections.append({"patient": patient, "enabled": settings_.prevention_enabled, "items": items})
    return render(request, "agenda/prevention_list.html", _context(request, "Prévention", sections=sections))


@patient_required
@require_http_methods(["GET", "POST"])
def prevention_item(request: HttpRequest, patient_id, code: str) -> HttpResponse:
    actor = request.actor
    patient = policy.represented_profile_for(actor, patient_id)
    rule = prevention.RULES_BY_CODE.get(code)
    if rule is None or not prevention.applies(rule, patient.sex):
        raise Http404
    item = policy.prevention_items_for(actor, patient).get(code)
    can_record = rule.is_vaccination and services.profile_vaccination_available()
    initial = {"state": item.state if item else PreventionState.TO_PLAN, "done_on": item.done_on if item else None}
    form = PreventionStateForm(request.POST or None, initial=initial, can_record=can_record)
    if form.is_valid():
        data = form.cleaned_data
        services.prevention_state_set(
            patient=patient, code=code, state=data["state"], done_on=data["done_on"], by=actor
        )
        if data.get("record_in_profile") and data["state"] == PreventionState.DONE:
            services.vaccination_record_in_profile(patient=patient, rule_code=code, done_on=data["done_on"], by=actor)
            messages.success(request, "C’est noté, et la vaccination est ajoutée au profil médical.")
        else:
            messages.success(request, "C’est noté.")
        return redirect("agenda:prevention")
    context = _context(
        request,
        rule.title,
        rule=rule,
        milestone=prevention.milestone(rule, patient.birth_date),
        patient=patient,
        form=form,
        item=item,
    )
    return render(request, "agenda/prevention_item.html", context)
