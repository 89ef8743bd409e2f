"""A dozen plausible referenced services, and one connection for Camille with the blood pressure readings the
service sent (idempotent)."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from catalogue.actor import ServiceActor
from catalogue.enums import ConnectionStatus, ServiceCategory, ServiceStatus
from catalogue.models import Connection, Purpose, Service
from catalogue.services import service_application_ensure
from profil.enums import MeasureKind
from profil.services import DuplicateIdentifier, measure_add_from_service

MEASURES_WRITE = (
    "Importer mes mesures",
    "Vos mesures (poids, tension…) arrivent dans votre espace.",
    "measures:write",
)
MEASURES_READ = ("Consulter mes mesures", "Le service affiche l’évolution de vos mesures.", "measures:read")
AGENDA = (
    "Partager mes rendez-vous",
    "Vos rendez-vous pris sur ce service arrivent dans votre agenda.",
    "agenda:read agenda:write",
)
DOCS_BIO = (
    "Consulter mes résultats de biologie",
    "Le service lit vos résultats d’analyses.",
    "documents:read",
    ["biologie"],
)
DOCS_ORD = (
    "Consulter mes ordonnances et comptes rendus",
    "Le service lit vos ordonnances et comptes rendus.",
    "documents:read",
    ["ordonnances", "comptes_rendus"],
)
DOCS_WRITE = ("Déposer des documents", "Le service ajoute ses comptes rendus à vos documents.", "documents:write")

SERVICES = [
    (
        "Tensio Suivi",
        "Hexasanté SAS",
        "mesures",
        ServiceCategory.CHRONIQUE,
        "",
        "Suivez votre tension artérielle avec un tensiomètre connecté.",
        [MEASURES_WRITE, MEASURES_READ],
    ),
    (
        "Diabéto Carnet",
        "Glycolab",
        "mesures",
        ServiceCategory.CHRONIQUE,
        "",
        "Votre carnet de glycémie et le suivi de votre diabète.",
        [MEASURES_WRITE, MEASURES_READ, DOCS_BIO],
    ),
    (
        "RDV Santé Occitanie",
        "GIP e-santé Occitanie",
        "agenda",
        ServiceCategory.RENDEZ_VOUS,
        "occ",
        "Prenez rendez-vous avec les professionnels de santé de la région.",
        [AGENDA],
    ),
    (
        "Doctolien",
        "Doctolien SA",
        "agenda",
        ServiceCategory.RENDEZ_VOUS,
        "",
        "Prise de rendez-vous en ligne chez plus de 50 000 praticiens.",
        [AGENDA, DOCS_ORD],
    ),
    (
        "Téléconsult Express",
        "Médecins en ligne SAS",
        "service",
        ServiceCategory.TELECONSULTATION,
        "",
        "Consultez un médecin en vidéo, 7 jours sur 7.",
        [AGENDA, DOCS_ORD, DOCS_WRITE],
    ),
    (
        "Bouger Plus",
        "Association Sport Santé France",
        "mesures",
        ServiceCategory.BIEN_ETRE,
        "",
        "Des programmes d’activité physique adaptée et le suivi de vos pas.",
        [MEASURES_WRITE],
    ),
    (
        "Mes Vaccins Famille",
        "Vaccinum",
        "service",
        ServiceCategory.PREVENTION,
        "",
        "Les rappels de vaccination de toute la famille.",
        [AGENDA, ("Consulter mes documents de prévention", "", "documents:read", ["prevention"])],
    ),
    (
        "Aidant Connect",
        "Réseau des aidants",
        "service",
        ServiceCategory.AIDANTS,
        "idf hdf",
        "Un accompagnement pour les proches aidants : droits, répit, soutien.",
        [AGENDA],
    ),
    (
        "Grossesse Sereine",
        "Maternia",
        "agenda",
        ServiceCategory.GROSSESSE,
        "",
        "Le suivi de grossesse semaine par semaine et vos rendez-vous.",
        [AGENDA, MEASURES_WRITE],
    ),
    (
        "Dépist’Cancer",
        "Centres régionaux de dépistage",
        "service",
        ServiceCategory.PREVENTION,
        "bre pdl naq",
        "Vos invitations aux dépistages organisés des cancers.",
        [AGENDA, ("Consulter mes résultats de dépistage", "", "documents:read", ["prevention", "imagerie"])],
    ),
    (
        "Mon Psy Écoute",
        "PsyLink",
        "agenda",
        ServiceCategory.SANTE_MENTALE,
        "",
        "Des séances avec des psychologues partenaires du dispositif Mon soutien psy.",
        [AGENDA],
    ),
    (
        "Cardio Veille",
        "Cardionum",
        "mesures",
        ServiceCategory.CHRONIQUE,
        "ara",
        "La télésurveillance de l’insuffisance cardiaque avec votre cardiologue.",
        [MEASURES_WRITE, MEASURES_READ, DOCS_WRITE],
    ),
]

LONG = (
    "{name} est un service numérique de santé référencé par l’État dans le catalogue de Mon espace santé. "
    "Il respecte les référentiels d’interopérabilité et de sécurité et l’éthique du numérique en santé. "
    "Vous choisissez ce qu’il peut faire avec vos données, finalité par finalité, et vous pouvez le déconnecter à "
    "tout moment."
)


def _slug(name: str) -> str:
    """ASCII only ("Mon Psy Écoute" → "mon-psy-ecoute"): an accented host name in a redirect URI is refused
    by the OAuth provider, so the service could not be connected."""
    return slugify(name.replace("’", ""))


@transaction.atomic
def seed_demo(personas) -> None:
    for index, (name, publisher, logo, category, regions, short, purposes) in enumerate(SERVICES):
        service, _ = Service.objects.get_or_create(
            name=name,
            defaults={
                "publisher": publisher,
                "logo": f"img/catalogue/{logo}.svg",
                "short_description": short,
                "description": LONG.format(name=name),
                "category": category,
                "regions": regions,
                "website": f"https://{_slug(name)}.example",
                "referenced_on": datetime.date(2024, 1, 15) + datetime.timedelta(days=37 * index),
                "status": ServiceStatus.ONLINE,
            },
        )
        redirect_uris = f"https://{_slug(name)}.example/oauth/callback"
        service_application_ensure(service=service, redirect_uris=redirect_uris)
        # Demo databases seeded before the URIs were ASCII are put right.
        application = service.application
        if application.redirect_uris != redirect_uris:
            application.redirect_uris = redirect_uris
            application.save(update_fields=["redirect_uris"])
        website = f"https://{_slug(name)}.example"
        if service.website != website:
            service.website = website
            service.save(update_fields=["website"])
        for position, purpose in enumerate(purposes):
            label, explanation, scopes, *categories = purpose
            Purpose.objects.get_or_create(
                service=service,
                label=label,
                defaults={
                    "explanation": explanation,
                    "scopes": scopes,
                    "document_categories": categories[0] if categories else [],
                    "position": position,
                },
            )
    tensio = Service.objects.get(name="Tensio Suivi")
    if not Connection.objects.filter(service=tensio, patient=personas.camille).exists():
        connection = Connection.objects.create(
            service=tensio,
            patient=personas.camille,
            connected_by=personas.camille.user,
            status=ConnectionStatus.ACTIVE,
        )
        connection.purposes.set(tensio.purposes.all())
    _tensio_readings(tensio, personas.camille)


# (days ago, hour, systolic, diastolic): what Camille's connected blood pressure monitor sent.
TENSIO_READINGS = [(9, 8, "128", "82"), (6, 8, "124", "80"), (3, 20, "131", "84"), (1, 8, "122", "79")]


def _tensio_readings(tensio: Service, camille) -> None:
    """Through the same service as the API, each reading with its identifier: seeding again adds nothing."""
    by = ServiceActor.for_service(tensio)
    now = timezone.localtime()
    for days, hour, systolic, diastolic in TENSIO_READINGS:
        measured_at = (now - datetime.timedelta(days=days)).replace(hour=hour, minute=15, second=0, microsecond=0)
        try:
            measure_add_from_service(
                patient=camille,
                service=tensio,
                kind=MeasureKind.TENSION,
                value=Decimal(systolic),
                value2=Decimal(diastolic),
                measured_at=measured_at,
                identifier=f"tensio-demo-{days}",
                by=by,
            )
        except DuplicateIdentifier:
            continue
