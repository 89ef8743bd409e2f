"""Changes applied to the product INSIDE a benchmark process only (nothing here is committed to the product).

Each entry is either a hotfix without which the benchmark cannot run at all, or a proposed fix measured
against the product as it is (`--variant`). The report and bench/README.md give the same fixes as
source changes.
"""

import builtins
import io


class _TellableText(io.TextIOWrapper):
    """tell() of the underlying byte buffer: allowed while iterating, exact to within one read-ahead chunk."""

    def tell(self) -> int:
        return self.buffer.tell()


def _open_tellable(file, mode="r", *args, **kwargs):
    if mode != "r":
        return builtins.open(file, mode, *args, **kwargs)
    return _TellableText(builtins.open(file, "rb"), encoding=kwargs.get("encoding"), newline=kwargs.get("newline"))


def hotfix_registry_tell() -> None:
    """activation/services/registry.py `_rows` calls `handle.tell()` on a text file that csv is iterating:
    CPython raises "OSError: telling position disabled by next() call" at row 10,000, so `manage.py
    import_assures` fails on every file of 10,000 rows or more. Proposed fix: `progress(handle.buffer.tell())`.
    Here: the module's `open` returns a text wrapper whose tell() is exactly that."""
    from activation.services import registry

    registry.open = _open_tellable


# --- Proposed fix 1: registry import, the upsert's RETURNING counted by PostgreSQL -------------------------
HOTFIXES = {"registry-tell": hotfix_registry_tell}
# Fixes 1-6 are in the product since 2026-11-22 08:00 (see bench/README.md); their benchmark-only versions
# are in the git history (bench/patches.py before that date).
VARIANTS: dict = {}
