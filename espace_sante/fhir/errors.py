"""What the FHIR server answers instead of a resource: raised anywhere below a FHIR view, answered as an
OperationOutcome by espace_sante.fhir.views."""


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
