"""The error every FHIR input conversion raises: a French message for the client, and a FHIR IssueType code
(http://hl7.org/fhir/R4/valueset-issue-type.html) for the OperationOutcome the server answers with."""


class FhirInputError(ValueError):
    """A resource we cannot accept: nothing is stored. `code` is the OperationOutcome issue code."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
