"""SMART App Launch 2 on top of the catalogue's own scopes: what a client may ask for, what it is granted.

A connected service asks for SMART scopes (v2 `patient/Observation.rs`, `patient/*.cruds`, v1
`patient/Observation.read`, `launch/patient`, `openid`, `fhirUser`, `offline_access`) or, as before, for the
catalogue's data scopes (`measures:read`…). Each SMART resource scope maps onto data scopes, and so onto
the service's purposes, which are what the patient consents to:

- read (`r`, `s`; v1 `read`) of Observation, Appointment, DocumentReference/Binary is `measures:read`,
  `agenda:read`, `documents:read`; create and update (`c`, `u`; v1 `write`) are the `…:write` scopes;
  delete (`d`) is never granted (the API deletes nothing); `*` is every resource type of the service;
- `patient/Patient.rs` (the patient's identity) is open to every connected service;
- a scope is accepted when it maps onto a data scope one of the service's purposes uses.

The token a client gets is downscoped to the consent: `patient/Observation.cruds` with only "Consulter mes
mesures" ticked comes back as `patient/Observation.rs`.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from catalogue.enums import Scope
from espace_sante.fhir.views import fhir_base as kernel_fhir_base

CONNECTION_PREFIX = "connection:"
OPENID, FHIR_USER, LAUNCH_PATIENT, OFFLINE_ACCESS = "openid", "fhirUser", "launch/patient", "offline_access"
PLAIN_SCOPES = (OPENID, FHIR_USER, LAUNCH_PATIENT, OFFLINE_ACCESS)
IDENTITY_RESOURCE = "Patient"
# Resource type -> (read scope, write scope).
RESOURCES: dict[str, tuple[str, str | None]] = {
    "Observation": (Scope.MEASURES_READ, Scope.MEASURES_WRITE),
    "Appointment": (Scope.AGENDA_READ, Scope.AGENDA_WRITE),
    "DocumentReference": (Scope.DOCUMENTS_READ, Scope.DOCUMENTS_WRITE),
    "Binary": (Scope.DOCUMENTS_READ, None),
}
READ, WRITE = frozenset("rs"), frozenset("cu")
V2_ORDER = "cruds"
V1_PERMISSIONS = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}
_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>[a-z]+)/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<permissions>[^?]+)(?P<query>\?.*)?$"
)
_V2 = re.compile(r"^c?r?u?d?s?$")


class ScopeRefused(ValueError):
    """A scope this server cannot grant: `str()` is the error_description sent back (English, as OAuth)."""


@dataclass(frozen=True)
class ResourceScope:
    raw: str
    resource: str  # a resource type, or "*"
    permissions: frozenset[str]  # of c r u d s
    v1: bool

    def data_scopes(self, permissions: frozenset[str] | None = None) -> set[str]:
        """The catalogue scopes behind these permissions (all of them by default)."""
        permissions = self.permissions if permissions is None else permissions
        types = list(RESOURCES) if self.resource == "*" else [self.resource]
        found = set()
        for resource in types:
            read, write = RESOURCES.get(resource, (None, None))
            if read and permissions & READ:
                found.add(read)
            if write and permissions & WRITE:
                found.add(write)
        return found

    def render(self, permissions: frozenset[str]) -> str:
        """This scope narrowed to `permissions`, in the syntax (v1 or v2) the client used."""
        if permissions == self.permissions:
            return self.raw
        prefix = f"patient/{self.resource}."
        if self.v1:
            if permissions >= READ and permissions >= WRITE:
                return prefix + "*"
            return prefix + ("read" if permissions & READ else "write")
        return prefix + "".join(letter for letter in V2_ORDER if letter in permissions)


def is_tag(scope: str) -> bool:
    return scope.startswith(CONNECTION_PREFIX)


def is_smart(scope: str) -> bool:
    return scope in PLAIN_SCOPES or ("/" in scope and not is_tag(scope))


def parse(scope: str) -> ResourceScope:
    """A SMART resource scope, or ScopeRefused saying why it cannot be granted here."""
    match = _RESOURCE_SCOPE.match(scope)
    if match is None:
        raise ScopeRefused(f"Unknown scope {scope!r}.")
    if match["context"] != "patient":
        raise ScopeRefused(f"Scope {scope!r}: only patient-level scopes (patient/...) are supported.")
    if match["query"]:
        raise ScopeRefused(f"Scope {scope!r}: granular scopes with search parameters are not supported.")
    written = match["permissions"]
    if written in V1_PERMISSIONS:
        permissions, v1 = V1_PERMISSIONS[written], True
    elif written and _V2.match(written):
        permissions, v1 = frozenset(written), False
    else:
        raise ScopeRefused(f"Scope {scope!r}: permissions must be a subset of 'cruds' in that order.")
    resource = match["type"]
    if resource != "*" and resource != IDENTITY_RESOURCE and resource not in RESOURCES:
        raise ScopeRefused(f"Scope {scope!r}: resource type {resource} is not served.")
    return ResourceScope(raw=scope, resource=resource, permissions=permissions, v1=v1)


def check_requested(scopes, service_scopes: set[str]) -> None:
    """Raise ScopeRefused for the first requested scope the service may not ask for (tags are the
    validator's business)."""
    for scope in scopes:
        if is_tag(scope) or scope in PLAIN_SCOPES:
            continue
        if scope in Scope.values:
            if scope not in service_scopes:
                raise ScopeRefused(f"Scope {scope!r} is not among the purposes registered for this service.")
            continue
        if scope == "launch":
            raise ScopeRefused("EHR launch is not supported; use a standalone launch with launch/patient.")
        parsed = parse(scope)
        if parsed.resource == IDENTITY_RESOURCE:
            if parsed.permissions - READ:
                raise ScopeRefused(f"Scope {scope!r}: the Patient resource is read-only.")
            continue
        if not parsed.data_scopes() & service_scopes:
            raise ScopeRefused(f"Scope {scope!r} is not among the purposes registered for this service.")


def requested_data_scopes(scopes) -> set[str]:
    """The catalogue scopes a request asks for (to pre-tick the purposes of the consent page)."""
    found = set()
    for scope in scopes:
        if scope in Scope.values:
            found.add(scope)
        elif is_smart(scope) and scope not in PLAIN_SCOPES:
            try:
                found |= parse(scope).data_scopes()
            except ScopeRefused:
                continue
    return found


@dataclass(frozen=True)
class Grant:
    client_scopes: list[str]  # what the client is told it got (SMART syntax, or data scopes it asked for)
    data_scopes: set[str]  # what the API checks

    def stored(self, tag: str) -> str:
        """The scope string of the code and tokens: the client's scopes, the data scopes, the connection."""
        ordered = list(dict.fromkeys([*self.client_scopes, *sorted(self.data_scopes), tag]))
        return " ".join(ordered)


def grant(requested, consented: set[str]) -> Grant:
    """What the consent (`consented`, the data scopes of the ticked purposes) covers of the request.

    A request in the catalogue's own scopes only keeps the former behaviour: every consented data scope.
    """
    requested = [scope for scope in requested if not is_tag(scope)]
    if not any(is_smart(scope) for scope in requested):
        return Grant(client_scopes=sorted(consented), data_scopes=set(consented))
    client_scopes, data_scopes = [], set()
    for scope in requested:
        if scope in PLAIN_SCOPES:
            client_scopes.append(scope)
        elif scope in Scope.values:
            if scope in consented:
                client_scopes.append(scope)
                data_scopes.add(scope)
        else:
            parsed = parse(scope)
            if parsed.resource == IDENTITY_RESOURCE:
                client_scopes.append(scope)
                continue
            kept = frozenset(
                permission
                for permission in parsed.permissions
                if parsed.data_scopes(frozenset(permission)) & consented
            )
            if kept:
                client_scopes.append(parsed.render(kept))
                data_scopes |= parsed.data_scopes(kept) & consented
    return Grant(client_scopes=list(dict.fromkeys(client_scopes)), data_scopes=data_scopes)


def narrowed(asked: list[str], original: list[str]) -> str | None:
    """A refresh request naming `asked` (a subset of what the client was told it got): the full scope string
    for the new tokens, data scopes and connection tag included. None when `asked` is not a subset (the
    caller leaves it to oauthlib, which refuses with invalid_scope)."""
    if not set(asked) <= set(original):
        return None
    tags = [scope for scope in original if is_tag(scope)]
    consented = {scope for scope in original if scope in Scope.values}
    data = grant(asked, consented).data_scopes if any(is_smart(scope) for scope in asked) else set()
    return " ".join(dict.fromkeys([*asked, *sorted(data), *tags]))


def client_scopes(stored: str) -> str:
    """The scope string a client sees (token response, introspection) from the stored one: when the client
    spoke SMART, its SMART scopes only (no data scope, no connection tag); otherwise unchanged, as before."""
    scopes = stored.split()
    if any(is_smart(scope) for scope in scopes):
        scopes = [scope for scope in scopes if is_smart(scope)]
    return " ".join(scopes)


# --- URLs --------------------------------------------------------------------------------------------


def site() -> str:
    return settings.SITE_URL.rstrip("/")


def fhir_base() -> str:
    """The FHIR base URL, which the `aud` parameter must name (SMART App Launch 2, §2.0.6)."""
    return kernel_fhir_base()


def issuer() -> str:
    return site()


def endpoint(name: str) -> str:
    return site() + reverse(f"oauth2_provider:{name}")


def audience_matches(aud: str) -> bool:
    return bool(aud) and aud.rstrip("/") == fhir_base()
