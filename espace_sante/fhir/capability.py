"""The CapabilityStatement at [base]/metadata, built from the registered resources (never kept by hand)."""

from django.conf import settings
from django.urls import reverse

from espace_sante.fhir.registry import resources

SMART_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def capability_statement(base: str, site: str) -> dict:
    rest_resources = []
    for resource in resources().values():
        entry = {
            "type": resource.type,
            "interaction": [{"code": code} for code in resource.interactions],
            "versioning": "versioned",
            "readHistory": False,
            "conditionalRead": "not-match",
            "searchParam": [
                {"name": param.name, "type": param.type, "documentation": param.documentation}
                for param in resource.all_search_params()
            ],
        }
        if resource.profile:
            entry["supportedProfile"] = [resource.profile]
        if resource.documentation:
            entry["documentation"] = resource.documentation
        if resource.sort_fields:
            entry["searchParam"].append(
                {
                    "name": "_sort",
                    "type": "special",
                    "documentation": "Tri : "
                    + ", ".join(sorted(resource.sort_fields))
                    + " (préfixe - : décroissant).",
                }
            )
        rest_resources.append(entry)
    security = {
        "cors": True,
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ]
            }
        ],
        "description": "OAuth 2.0 (SMART App Launch 2) : jeton porteur obtenu par un service référencé.",
    }
    oauth_uris = [
        ("authorize", getattr(settings, "FHIR_AUTHORIZE_URL_NAME", "")),
        ("token", getattr(settings, "FHIR_TOKEN_URL_NAME", "")),
        ("revoke", getattr(settings, "FHIR_REVOKE_URL_NAME", "")),
    ]
    extension = [{"url": key, "valueUri": site + reverse(name)} for key, name in oauth_uris if name]
    if extension:
        security["extension"] = [{"url": SMART_OAUTH_URIS, "extension": extension}]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": settings.FHIR_CAPABILITY_DATE,
        "publisher": "Mon espace santé",
        "kind": "instance",
        "software": {"name": "Mon espace santé"},
        "implementation": {"description": "Serveur FHIR R4 de Mon espace santé", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{"mode": "server", "security": security, "resource": rest_resources}],
    }
