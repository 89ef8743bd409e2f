"""An e-mail backend that does all the work of Django's SMTP backend except the network.

Per message: address sanitising, MIME building (`message.message()`) and serialisation to bytes with CRLF
line ends (`as_bytes(linesep="\\r\\n")`), exactly as `smtp.EmailBackend._send`. It also counts how many
SMTP connections the caller would have opened: Django's SMTP backend opens (and closes) a connection for
each `send_messages` call unless the caller opened it beforehand (`with connection:` or `open()`).
"""

import threading

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address

STATS = {"messages": 0, "bytes": 0, "connections": 0}
_lock = threading.Lock()


class SerializingBackend(BaseEmailBackend):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connected = False

    def open(self) -> bool | None:
        if self.connected:
            return False
        self.connected = True
        STATS["connections"] += 1
        return True

    def close(self) -> None:
        self.connected = False

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        with _lock:
            new_connection = self.open()
            try:
                sent = 0
                for email in email_messages:
                    if not email.recipients():
                        continue
                    encoding = email.encoding or settings.DEFAULT_CHARSET
                    sanitize_address(email.from_email, encoding)
                    for address in email.recipients():
                        sanitize_address(address, encoding)
                    data = email.message().as_bytes(linesep="\r\n")
                    STATS["messages"] += 1
                    STATS["bytes"] += len(data)
                    sent += 1
            finally:
                if new_connection:
                    self.close()
        return sent
