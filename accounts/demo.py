"""The demo personas: created by `manage.py demo_seed` and by the tests' `personas` fixture.

Every password is DEMO_PASSWORD; professionals and agents use the TOTP secrets below (base32 in README).
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.enums import Organisation, Profession, RepresentationKind, Sex, UserKind, VitaleCardType
from accounts.groups import ensure_groups
from accounts.models import Agent, Patient, Professional, User
from activation.enums import SpaceStatus

DEMO_PASSWORD = "Demo-Sante-2026!"  # noqa: S105 (public demo password)

# 20-byte TOTP keys, hex. Fixed so the README can list them; demo and tests only.
TOTP_KEYS = {
    "sophie.petit": "3132333435363738393031323334353637383930",
    "dr.martin": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "pharmacien.leroy": "b1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "kine.bernard": "c1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "dr.regulateur": "a2b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "agent.cpam": "d1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "agent.franceservices": "e1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "agent.superviseur": "f1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
}


@dataclass
class Personas:
    camille: Patient  # adult patient, Dr Martin is her médecin traitant
    julien: Patient  # parent of Léo and Emma, attached to his Vitale card
    leo: Patient
    emma: Patient
    sophie: Patient  # tutor of her father Bernard; logs in with an authenticator app
    bernard: Patient  # adult under tutelle
    dr_martin: Professional
    pharmacien_leroy: Professional
    kine_bernard: Professional
    dr_regulateur: Professional  # médecin régulateur of the SAMU (centre 15): may open a SAMU emergency access
    agent_cpam: Agent
    agent_france_services: Agent
    agent_superviseur: Agent


def _patient(
    *,
    nir: str,
    birth_name: str,
    first_names: str,
    birth_date: datetime.date,
    sex: Sex,
    birth_place: str,
    email: str = "",
    username: str | None = None,
    city: str = "Toulouse",
    postal_code: str = "31000",
    serial: str = "",
    card_holder: Patient | None = None,
) -> Patient:
    patient = Patient.objects.filter(nir=nir).first()
    if patient is not None:
        return patient
    user = None
    if username is not None:
        user = services.user_create(
            username=username,
            kind=UserKind.PATIENT,
            email=email,
            first_name=first_names.split()[0],
            last_name=birth_name,
            password=DEMO_PASSWORD,
        )
        if username in TOTP_KEYS:
            services.totp_device_add(user=user, key_hex=TOTP_KEYS[username])
    patient = Patient(
        user=user,
        nir=nir,
        birth_name=birth_name,
        first_names=first_names,
        birth_date=birth_date,
        sex=sex,
        birth_place_insee=birth_place,
        email=email,
        address_line="12 rue des Lilas",
        postal_code=postal_code,
        city=city,
        card_holder=card_holder,
        vitale_serial=serial,
        vitale_card_type=VitaleCardType.WITH_PHOTO if serial else "",
    )
    patient.full_clean()
    patient.save()
    return patient


def _professional(
    *,
    username: str,
    first_name: str,
    last_name: str,
    rpps: str,
    profession: Profession,
    specialty: str,
    structure: str,
    city: str,
    samu_regulator: bool = False,
) -> Professional:
    existing = Professional.objects.filter(rpps=rpps).first()
    if existing is not None:
        return existing
    user = services.user_create(
        username=username,
        kind=UserKind.PROFESSIONAL,
        email=f"{username}@pro.example",
        first_name=first_name,
        last_name=last_name,
        password=DEMO_PASSWORD,
    )
    services.totp_device_add(user=user, key_hex=TOTP_KEYS[username])
    professional = Professional(
        user=user,
        rpps=rpps,
        profession=profession,
        specialty=specialty,
        structure_name=structure,
        structure_city=city,
        samu_regulator=samu_regulator,
    )
    professional.full_clean()
    professional.save()
    return professional


def _agent(
    *,
    username: str,
    first_name: str,
    last_name: str,
    organisation: Organisation,
    name: str,
    group: Group,
    departments: str = "",
) -> Agent:
    existing = Agent.objects.filter(user__username=username).first()
    if existing is not None:
        if existing.departments != departments:  # seeded before agents had a territory
            existing.departments = departments
            existing.save(update_fields=["departments"])
        return existing
    user = services.user_create(
        username=username,
        kind=UserKind.AGENT,
        email=f"{username}@assurance-maladie.example",
        first_name=first_name,
        last_name=last_name,
        password=DEMO_PASSWORD,
        is_staff=True,
    )
    user.groups.add(group)
    services.totp_device_add(user=user, key_hex=TOTP_KEYS[username])
    agent = Agent(user=user, organisation=organisation, organisation_name=name, departments=departments)
    agent.full_clean()
    agent.save()
    return agent


def _space(patient: Patient, status: SpaceStatus) -> None:
    from activation.models import HealthSpace
    from dossier.models import MedicalRecord

    now = timezone.now()
    HealthSpace.objects.get_or_create(
        patient=patient,
        defaults={
            "status": status,
            "informed_at": now - datetime.timedelta(days=10),
            "activated_at": now if status == SpaceStatus.ACTIVE else None,
        },
    )
    if status == SpaceStatus.ACTIVE:
        MedicalRecord.objects.get_or_create(patient=patient)


def _agent_group(name: str) -> Group:
    ensure_groups()
    return Group.objects.get(name=name)


@transaction.atomic
def seed() -> Personas:
    """Create (or find) every persona. Idempotent."""
    dr_martin = _professional(
        username="dr.martin",
        first_name="Anne",
        last_name="Martin",
        rpps="10003456786",
        profession=Profession.MEDECIN,
        specialty="médecin généraliste",
        structure="Cabinet médical des Carmes",
        city="Toulouse",
    )
    pharmacien_leroy = _professional(
        username="pharmacien.leroy",
        first_name="Paul",
        last_name="Leroy",
        rpps="10004567896",
        profession=Profession.PHARMACIEN,
        specialty="",
        structure="Pharmacie du Capitole",
        city="Toulouse",
    )
    kine_bernard = _professional(
        username="kine.bernard",
        first_name="Lucie",
        last_name="Bernard",
        rpps="10005678908",
        profession=Profession.MASSEUR_KINESITHERAPEUTE,
        specialty="",
        structure="Cabinet de kinésithérapie Saint-Cyprien",
        city="Toulouse",
    )
    dr_regulateur = _professional(
        username="dr.regulateur",
        first_name="Karim",
        last_name="Haddad",
        rpps="10006789019",
        profession=Profession.MEDECIN,
        specialty="médecin régulateur",
        structure="SAMU 31 – centre 15, CHU de Toulouse",
        city="Toulouse",
        samu_regulator=True,
    )
    camille = _patient(
        nir="285037505612306",
        birth_name="Lefèvre",
        first_names="Camille Marie",
        birth_date=datetime.date(1985, 3, 14),
        sex=Sex.FEMALE,
        birth_place="75056",
        email="camille.lefevre@example.org",
        username="camille.lefevre",
        serial="80250000021234567890",
    )
    julien = _patient(
        nir="182063155504233",
        birth_name="Moreau",
        first_names="Julien Pierre",
        birth_date=datetime.date(1982, 6, 2),
        sex=Sex.MALE,
        birth_place="31555",
        email="julien.moreau@example.org",
        username="julien.moreau",
        serial="80250000029876543210",
    )
    leo = _patient(
        nir="116063155510701",
        birth_name="Moreau",
        first_names="Léo",
        birth_date=datetime.date(2016, 6, 21),
        sex=Sex.MALE,
        birth_place="31555",
        card_holder=julien,
    )
    emma = _patient(
        nir="220063155510845",
        birth_name="Moreau",
        first_names="Emma Louise",
        birth_date=datetime.date(2020, 6, 9),
        sex=Sex.FEMALE,
        birth_place="31555",
        card_holder=julien,
    )
    sophie = _patient(
        nir="278098002104481",
        birth_name="Petit",
        first_names="Sophie",
        birth_date=datetime.date(1978, 9, 30),
        sex=Sex.FEMALE,
        birth_place="80021",
        email="sophie.petit@example.org",
        username="sophie.petit",
        city="Amiens",
        postal_code="80000",
        serial="80250000025555666677",
    )
    bernard = _patient(
        nir="150098002103359",
        birth_name="Petit",
        first_names="Bernard Jean",
        birth_date=datetime.date(1950, 9, 12),
        sex=Sex.MALE,
        birth_place="80021",
        city="Amiens",
        postal_code="80000",
        serial="80250000024444333322",
    )
    for person in (camille, leo):
        if person.medecin_traitant_id is None:
            person.medecin_traitant = dr_martin
            person.save(update_fields=["medecin_traitant"])
    for representative, represented, kind in (
        (julien, leo, RepresentationKind.PARENT),
        (julien, emma, RepresentationKind.PARENT),
        (sophie, bernard, RepresentationKind.TUTEUR),
    ):
        if not represented.representatives.filter(representative=representative).exists():
            services.representation_add(representative=representative, represented=represented, kind=kind)

    # Spaces: everyone active but Emma, whose space waits for her father to activate or oppose it.
    for person in (camille, julien, leo, sophie, bernard):
        _space(person, SpaceStatus.ACTIVE)
    _space(emma, SpaceStatus.INFORMED)

    agent_cpam = _agent(
        username="agent.cpam",
        first_name="Nadia",
        last_name="Benali",
        organisation=Organisation.CPAM,
        name="CPAM de la Haute-Garonne",
        departments="31",  # sees the insured of Haute-Garonne only
        group=_agent_group("Conseiller CPAM"),
    )
    agent_france_services = _agent(
        username="agent.franceservices",
        first_name="Thomas",
        last_name="Girard",
        organisation=Organisation.FRANCE_SERVICES,
        name="France services d’Amiens Nord",
        group=_agent_group("Conseiller France services"),  # whoever comes to the desk, found by exact search
    )
    agent_superviseur = _agent(
        username="agent.superviseur",
        first_name="Claire",
        last_name="Fontaine",
        organisation=Organisation.CPAM,
        name="CPAM de la Haute-Garonne",
        departments="31",  # lists of Haute-Garonne only
        group=_agent_group("Superviseur"),
    )
    return Personas(
        agent_superviseur=agent_superviseur,
        camille=camille,
        julien=julien,
        leo=leo,
        emma=emma,
        sophie=sophie,
        bernard=bernard,
        dr_martin=dr_martin,
        pharmacien_leroy=pharmacien_leroy,
        kine_bernard=kine_bernard,
        dr_regulateur=dr_regulateur,
        agent_cpam=agent_cpam,
        agent_france_services=agent_france_services,
    )


def demo_users() -> list[User]:
    return list(User.objects.filter(username__in=["camille.lefevre", "julien.moreau", "sophie.petit", *TOTP_KEYS]))
