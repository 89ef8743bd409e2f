"""The request context attached to every event recorded while a request is served."""

import contextvars
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: uuid.UUID
    ip_address: str | None


current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("audit_request", default=None)
