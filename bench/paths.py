"""Where the benchmarks put things; no Django import here (the settings module reads this)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the project
BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = Path(os.environ.get("BENCH_WORK_DIR", "/tmp/bench-espace-sante"))  # noqa: S108  # CSV files, print files, logs
SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE_NAME = os.environ.get("BENCH_DATABASE_NAME", "bench_espace_sante")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def database_url() -> str:
    return SERVER_URL.rsplit("/", 1)[0] + "/" + DATABASE_NAME
