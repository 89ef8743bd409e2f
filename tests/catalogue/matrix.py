"""Roles × pages rows for the catalogue app (run by tests/access/test_matrix.py).

The OAuth endpoints and the /api/v1/ FHIR endpoints are listed too. A browser session never opens the
API: it answers 401 (no bearer token) to everyone, signed in or not; the real API behaviour, with
tokens, is covered by tests/catalogue/test_api.py. DOT's token and revocation endpoints and the introspection
endpoint take POST only; the discovery documents and the JWKS are public (tests/catalogue/test_smart.py).
The consent page without OAuth parameters answers 400 (invalid request) to patients.
"""

from tests.access.rows import PATIENT_PAGE, PATIENT_POST, PUBLIC, UNKNOWN, row

PATIENT_OBJECT = row(anonymous=302, patient=404, pro=403, agent=403)
API = row(anonymous=401, patient=401, pro=401, agent=401)
POST_ONLY = row(anonymous=405, patient=405, pro=405, agent=405)
FHIR_POST_ONLY = POST_ONLY  # [base]/<type>/_search: an OperationOutcome 405 to a GET
FHIR_UNKNOWN = (("resource_id", UNKNOWN[0][1]),)

ROWS = {
    ("catalogue:index", ()): PATIENT_PAGE,
    ("catalogue:connections", ()): PATIENT_PAGE,
    ("catalogue:detail", UNKNOWN): PATIENT_OBJECT,
    ("catalogue:report", UNKNOWN): PATIENT_OBJECT,
    ("catalogue:connect", UNKNOWN): PATIENT_POST,
    ("catalogue:disconnect", UNKNOWN): PATIENT_POST,
    ("oauth2_provider:authorize", ()): row(anonymous=302, patient=400, pro=403, agent=403),
    ("oauth2_provider:token", ()): POST_ONLY,
    ("oauth2_provider:revoke-token", ()): POST_ONLY,
    ("oauth2_provider:introspect", ()): POST_ONLY,
    ("oauth2_provider:jwks-info", ()): PUBLIC,
    ("smart_configuration", ()): PUBLIC,
    ("smart_configuration_fhir", ()): PUBLIC,
    ("oauth_metadata", ()): PUBLIC,
    ("openid_configuration", ()): PUBLIC,
    ("api:metadata", ()): row(anonymous=200, patient=200, pro=200, agent=200),
    ("api:not_found", ()): row(anonymous=404, patient=404, pro=404, agent=404),
    **{(f"api:{name}-type", ()): API for name in ("Patient", "Observation", "Appointment", "DocumentReference")},
    **{
        (f"api:{name}-search", ()): FHIR_POST_ONLY
        for name in ("Patient", "Observation", "Appointment", "DocumentReference")
    },
    **{
        (f"api:{name}-instance", FHIR_UNKNOWN): API
        for name in ("Patient", "Observation", "Appointment", "DocumentReference", "Binary")
    },
}
