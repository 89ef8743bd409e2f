"""`python -m bench.summary [FILE.json ...]`: Markdown rows for bench/README.md from result files.

Without arguments, every bench/results/*.json of a full run (import + campaign + email). One row per size:
date, label, N, COPY baseline, import rows/s and peak RSS, campaign people/s and peak RSS, e-mail delivery
and rendering per core, the Python CPU seconds of the import and of the campaign (less sensitive to the
machine's other load than wall time), and the machine's load average during the run.
"""

import json
import sys
from pathlib import Path

from bench.paths import RESULTS_DIR

HEADER = (
    "| date (UTC) | run | N | COPY rows/s | import rows/s | import RSS MiB | import CPU s | campaign people/s "
    "| campaign RSS MiB | campaign CPU s | deliver msg/s (per CPU s) | render msg/s (per CPU s) | load avg |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def rows(path: Path) -> list[str]:
    report = json.loads(path.read_text())
    out = []
    for run in report["runs"]:
        imp, camp, email = run.get("import", {}), run.get("campaign"), run.get("email")
        loads = [step["load"]["loadavg1_before"] for step in (imp, camp, email) if step and "load" in step]
        cells = [
            report["started"][:16].replace("T", " "),
            report.get("label") or "-",
            f"{run['rows']:,}",
            f"{run['copy_baseline']['rows_per_s']:,}",
            f"{imp.get('rows_per_s', 0):,}",
            f"{imp.get('peak_rss_mib', '-')}",
            f"{imp.get('cpu_user_s', '-')}",
            f"{camp['people_per_s']:,}" if camp else "-",
            f"{camp.get('peak_rss_mib', '-')}" if camp else "-",
            f"{camp.get('cpu_user_s', '-')}" if camp else "-",
            f"{email['deliver']['per_second']:,} ({email['deliver']['per_cpu_second']:,})" if email else "-",
            f"{email['render']['per_second']:,} ({email['render']['per_cpu_second']:,})" if email else "-",
            f"{min(loads):.1f}–{max(loads):.1f}" if loads else "-",
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def main(argv: list[str]) -> None:
    files = [Path(a) for a in argv] or sorted(
        p for p in RESULTS_DIR.glob("*.json") if "campaign-email-import" in p.name
    )
    print(HEADER)
    for path in files:
        for line in rows(path):
            print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
