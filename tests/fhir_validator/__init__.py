"""Every FHIR response the test suite produces, validated by FHIR.js (npm `fhir`, see package.json).

`tests/conftest.py` wraps Django's request handler for the whole run: each response with the FHIR JSON content
type (test client and live server alike) is kept, and validated when its test ends; a test whose responses do
not validate fails with the validator's messages. One Node process serves the whole run (one line per document).
"""

import atexit
import functools
import json
import shutil
import subprocess
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "validate.js"


class ValidatorMissing(RuntimeError):
    pass


class Validator:
    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not (HERE / "node_modules" / "fhir").is_dir():
            raise ValidatorMissing("FHIR validator not installed: run `make test` (npm ci in tests/fhir_validator)")
        self._process = subprocess.Popen(  # noqa: S603 - our own script, no shell
            [node, str(SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self._lock = threading.Lock()

    def errors(self, document: dict) -> list[str]:
        line = json.dumps(document, ensure_ascii=False) + "\n"
        with self._lock:
            self._process.stdin.write(line)
            self._process.stdin.flush()
            return json.loads(self._process.stdout.readline())

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=10)
        self._process.stdout.close()


@functools.cache
def shared_validator() -> Validator:
    """One Node process per test process, started on the first FHIR response and stopped at exit."""
    validator = Validator()
    atexit.register(validator.close)
    return validator
