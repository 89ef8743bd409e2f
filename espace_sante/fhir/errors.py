"""What the FHIR server answers instead of a resource: raised anywhere below a FHIR view, answered as an
OperationOutcome by espace_sante.fhir.views."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError


class FhirError(Exception):
    """A refusal with its HTTP status, its R4 IssueType and a French text for the client.

    `reason` is the short trace key written in the patient's access history (when the client is known).
    """

    status = 400
    code = "invalid"

    def __init__(
        self,
        text: str,
        *,
        status: int | None = None,
        code: str | None = None,
        reason: str = "",
        headers: dict | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.status = status or self.status
        self.code = code or self.code
        self.reason = reason
        self.headers = headers or {}


class FhirInputError(FhirError, ValueError):
    """A resource or a query the server cannot accept (malformed, out of range, duplicate): nothing stored."""

    STATUS = {"forbidden": 403, "duplicate": 409}  # another patient named in the resource; an identifier sent twice
    REASON = {"forbidden": "foreign_patient", "duplicate": "duplicate"}

    def __init__(self, text: str, code: str = "invalid", *, status: int | None = None) -> None:
        super().__init__(
            text, status=status or self.STATUS.get(code), code=code, reason=self.REASON.get(code, "invalid")
        )
        self.message = text


class NotFound(FhirError):
    """Missing and forbidden alike: the same answer, so that nothing tells a resource exists."""

    status = 404
    code = "not-found"

    def __init__(self, text: str = "Ressource introuvable.") -> None:
        super().__init__(text, reason="not_found")


@contextmanager
def refusals_as_outcomes(*, duplicate: tuple[type[Exception], ...] = (), business: tuple[type[Exception], ...] = ()):
    """Around an app's write service: its refusals become FHIR input errors (nothing was stored).
    `duplicate`: an identifier already received (409); `business`: a rule of the app (400 business-rule);
    a ValidationError: a value the app's own forms would refuse too (400 value)."""
    try:
        yield
    except duplicate as error:
        raise FhirInputError(str(error), "duplicate") from error
    except business as error:
        raise FhirInputError(str(error), "business-rule") from error
    except ValidationError as error:
        raise FhirInputError(" ".join(error.messages), "value") from error


def first_identifier(data: dict, *, max_length: int) -> str:
    """The first non-empty `identifier[].value` of a resource (what a sender uses to de-duplicate), or ""."""
    identifiers = data.get("identifier")
    if identifiers is None:
        return ""
    if not isinstance(identifiers, list):
        raise FhirInputError("« identifier » doit être une liste d’identifiants.", code="structure")
    for identifier in identifiers:
        value = identifier.get("value") if isinstance(identifier, dict) else None
        if isinstance(value, str) and value.strip():
            if len(value.strip()) > max_length:
                raise FhirInputError(
                    f"« identifier.value » ne doit pas dépasser {max_length} caractères.", code="value"
                )
            return value.strip()
    return ""
