"""OperationOutcome (FHIR R4): the body of every error under /api/."""

# R4 IssueType (http://hl7.org/fhir/R4/valueset-issue-type.html): nothing else may be sent as `code`.
ISSUE_TYPES = frozenset(
    {
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    }
)


def outcome(code: str, text: str, *, severity: str = "error") -> dict:
    if code not in ISSUE_TYPES:
        raise ValueError(f"{code!r} is not an R4 IssueType")
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text, "details": {"text": text}}],
    }
