"""What several bench scripts share: essay texts, a process's CPU, and dropping a run's data.

Scripts are run as files (`python bench/x.py`) and put the repository root on `sys.path` before
importing this module as `bench.common`.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

from services.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "enem" / "essays.jsonl.gz"


def load_texts(n: int) -> list[str]:
    """`n` real essay texts: the shared ENEM corpus when present, else the bundled samples
    repeated (the samples are few; a bench needs its count)."""
    texts: list[str] = []
    if SHARED.exists():
        with gzip.open(SHARED, "rt", encoding="utf-8") as handle:
            for line in handle:
                texts.append(json.loads(line)["text"])
                if len(texts) >= n:
                    break
        return texts
    samples = (ROOT / "samples" / "essays.jsonl").read_text(encoding="utf-8").splitlines()
    base = [json.loads(line)["text"] for line in samples if line.strip()]
    return [base[i % len(base)] for i in range(n)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def cleanup(settings: Settings) -> None:
    """Drop what the run created: its database, queue keys and bucket (best effort)."""
    try:
        from pymongo import MongoClient
        from redis import Redis

        from services.core.storage import ObjectStore

        MongoClient(settings.mongodb_uri).drop_database(settings.mongodb_db)
        redis = Redis.from_url(settings.redis_url)
        keys = list(redis.scan_iter(match=f"*{settings.queue_prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            redis.delete(*keys[start : start + 1000])
        store = ObjectStore(settings)
        for key in list(store.list_keys("")):
            store.delete(key)
        store.client.delete_bucket(Bucket=store.bucket)
    except Exception as exc:  # a failed clean-up must not hide the figures
        print(f"cleanup incomplete: {exc}", file=sys.stderr)
