"""The patient's side of the catalogue: browse, read a service, connect it, report it, manage connections."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from catalogue import services
from catalogue.enums import ServiceStatus
from catalogue.forms import PurposesForm, ReportForm, ServiceFilterForm
from catalogue.models import Service
from espace_sante.access import policy
from espace_sante.access.decorators import patient_required

PAGE_SIZE = 12


def _service(public_id) -> Service:
    return get_object_or_404(Service.objects.exclude(status=ServiceStatus.DEREFERENCED), public_id=public_id)


@patient_required
@require_http_methods(["GET"])
def index(request: HttpRequest) -> HttpResponse:
    form = ServiceFilterForm(request.GET or None)
    found = Service.objects.listed()
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            found = found.filter(
                Q(name__icontains=data["q"])
                | Q(publisher__icontains=data["q"])
                | Q(short_description__icontains=data["q"])
            )
        if data["category"]:
            found = found.filter(category=data["category"])
        if data["region"]:
            found = found.filter(Q(regions="") | Q(regions__contains=data["region"]))
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    connected = set(
        policy.connections_visible_to(request.actor, request.actor.acting_for).values_list("service_id", flat=True)
    )
    return render(request, "catalogue/index.html", {"form": form, "page": page, "connected": connected})


@patient_required
@require_http_methods(["GET"])
def detail(request: HttpRequest, public_id) -> HttpResponse:
    service = _service(public_id)
    connection = policy.connections_visible_to(request.actor, request.actor.acting_for).filter(service=service).first()
    purposes = list(service.purposes.all())
    initial = {"purposes": [str(p.pk) for p in connection.purposes.all()]} if connection else None
    form = PurposesForm(purposes=purposes, initial=initial)
    return render(
        request,
        "catalogue/detail.html",
        {"service": service, "connection": connection, "form": form, "purposes": purposes},
    )


@patient_required
@require_POST
def connect(request: HttpRequest, public_id) -> HttpResponse:
    service = _service(public_id)
    form = PurposesForm(request.POST, purposes=list(service.purposes.all()))
    if not form.is_valid():
        messages.error(request, "Cochez au moins une finalité pour connecter ce service.")
        return redirect("catalogue:detail", public_id=service.public_id)
    try:
        connection = services.connection_save(
            service=service, patient=request.actor.acting_for, purposes=form.accepted(), by=request.actor
        )
    except services.NotAllowed as error:
        messages.error(request, str(error))
        return redirect("catalogue:detail", public_id=service.public_id)
    messages.success(request, f"{service.name} est connecté avec les autorisations que vous avez choisies.")
    return redirect("catalogue:connections") if connection else redirect("catalogue:index")


@patient_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, public_id) -> HttpResponse:
    service = _service(public_id)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.report_create(service=service, by=request.actor, **form.cleaned_data)
        messages.success(request, "Merci : votre signalement a été transmis à l’équipe de référencement.")
        return redirect("catalogue:detail", public_id=service.public_id)
    return render(request, "catalogue/report.html", {"service": service, "form": form})


@patient_required
@require_http_methods(["GET"])
def connections(request: HttpRequest) -> HttpResponse:
    items = list(policy.connections_visible_to(request.actor, request.actor.acting_for))
    return render(request, "catalogue/connections.html", {"connections": items})


@patient_required
@require_POST
def disconnect(request: HttpRequest, public_id) -> HttpResponse:
    connection = policy.connection_for(request.actor, public_id)
    services.connection_disconnect(connection=connection, by=request.actor)
    messages.success(request, f"{connection.service.name} est déconnecté : il n’a plus accès à vos données.")
    return redirect("catalogue:connections")
