"""Who is acting: a user, their role, whether the second factor was verified, and for whom they act."""

from dataclasses import dataclass, field
from functools import cached_property

from accounts.enums import UserKind
from accounts.models import Agent, LegalRepresentation, Patient, Professional, User
from espace_sante.audit.actions import ActorRole

# A represented profile appears once its space is open (automatically, or activated by the representative).
USABLE_SPACE_STATUSES = ("open", "active")

ROLE_BY_KIND = {
    UserKind.PATIENT: ActorRole.PATIENT,
    UserKind.PROFESSIONAL: ActorRole.PROFESSIONAL,
    UserKind.AGENT: ActorRole.AGENT,
}


@dataclass
class Actor:
    user: User | None
    role: ActorRole
    verified: bool = False
    acting_for_id: int | None = None  # a represented patient's pk, from the session; None: oneself
    emergency_ids: tuple[str, ...] = ()  # public ids of emergency accesses started in this session
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def anonymous(cls) -> "Actor":
        return cls(user=None, role=ActorRole.ANONYMOUS)

    @classmethod
    def for_user(
        cls, user: User, *, verified: bool, acting_for_id: int | None = None, emergency_ids: tuple[str, ...] = ()
    ) -> "Actor":
        return cls(
            user=user,
            role=ROLE_BY_KIND[UserKind(user.kind)],
            verified=verified,
            acting_for_id=acting_for_id,
            emergency_ids=emergency_ids,
        )

    # --- Who ---------------------------------------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_verified_patient(self) -> bool:
        return self.verified and self.role == ActorRole.PATIENT and self.patient is not None

    @property
    def is_verified_professional(self) -> bool:
        return self.verified and self.role == ActorRole.PROFESSIONAL and self.professional is not None

    @property
    def is_verified_agent(self) -> bool:
        return self.verified and self.role == ActorRole.AGENT and self.agent is not None

    @cached_property
    def patient(self) -> Patient | None:
        """The logged-in person's own insured profile."""
        if self.role != ActorRole.PATIENT:
            return None
        return Patient.objects.select_related("space").filter(user=self.user).first()

    @cached_property
    def professional(self) -> Professional | None:
        if self.role != ActorRole.PROFESSIONAL:
            return None
        return Professional.objects.select_related("user").filter(user=self.user).first()

    @cached_property
    def agent(self) -> Agent | None:
        if self.role != ActorRole.AGENT:
            return None
        return Agent.objects.filter(user=self.user).first()

    # --- For whom ----------------------------------------------------------------------------------------
    @cached_property
    def represented(self) -> list[Patient]:
        """The profiles this patient may act for besides their own (children, protected adults)."""
        if self.patient is None:
            return []
        links = (
            LegalRepresentation.objects.active()
            .filter(
                representative=self.patient,
                represented__deceased_on__isnull=True,
                represented__space__status__in=USABLE_SPACE_STATUSES,
            )
            .select_related("represented__space")
            .order_by("represented__birth_date", "represented__pk")
        )
        return [link.represented for link in links]

    @property
    def profiles(self) -> list[Patient]:
        """Own profile first, then represented ones: the choices of the header's profile switcher."""
        return ([self.patient] if self.patient else []) + self.represented

    @cached_property
    def acting_for(self) -> Patient | None:
        """The profile currently selected; falls back to one's own when the link ended."""
        if self.acting_for_id is not None:
            for patient in self.represented:
                if patient.pk == self.acting_for_id:
                    return patient
        return self.patient

    @property
    def is_representing(self) -> bool:
        return self.acting_for is not None and self.patient is not None and self.acting_for.pk != self.patient.pk

    def acts_for(self, patient: Patient) -> bool:
        """True when this verified patient is `patient` or legally represents them."""
        if not self.is_verified_patient:
            return False
        return any(profile.pk == patient.pk for profile in self.profiles)

    # --- How the log names them --------------------------------------------------------------------------
    @property
    def label(self) -> str:
        if self.user is None:
            return "Personne non connectée"
        if self.professional is not None:
            return self.professional.label
        if self.patient is not None:
            name = self.patient.display_name
            if self.is_representing:
                return f"{name} (représentant légal)"
            return name
        if self.agent is not None:
            return f"{self.user.first_name} {self.user.last_name}, {self.agent.organisation_name}"
        return self.user.get_full_name() or self.user.username
