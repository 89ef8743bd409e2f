"""A connected service acting through the API: logged with the role "system" and the service's name."""

from dataclasses import dataclass

from espace_sante.access.actor import Actor
from espace_sante.audit.actions import ActorRole


@dataclass
class ServiceActor(Actor):
    service_name: str = ""

    @classmethod
    def for_service(cls, service) -> "ServiceActor":
        return cls(user=None, role=ActorRole.SYSTEM, service_name=service.name)

    @property
    def label(self) -> str:
        return self.service_name
