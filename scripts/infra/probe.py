"""Protocol-level readiness checks for scripts/infra/up, run with the project venv's Python.

Why not just a TCP connect: a port can accept connections long before the server can serve
(Elasticsearch binds HTTP before the cluster has a master; moto before its app is loaded), so each
check speaks the real protocol with the real client the platform uses. Exit status 0 = ready.

Usage:
    probe.py mongodb PORT
    probe.py elasticsearch PORT
    probe.py s3 PORT BUCKET ACCESS_KEY SECRET_KEY   (BUCKET "" = only ListBuckets)
    probe.py es-report PORT                         (prints version, modules, analyzers found)
    probe.py s3-dump PORT DIR / s3-load PORT DIR    (moto keeps objects in memory only: `stop`
                                                     saves them to DIR and `start` puts them back)
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def mongodb(port: str) -> None:
    """A `ping` command answered with ok=1 by the wire-protocol server."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(
        f"mongodb://127.0.0.1:{port}", serverSelectionTimeoutMS=1500, connectTimeoutMS=1500
    )
    try:
        reply = client.admin.command("ping")
        if reply.get("ok") != 1:
            raise SystemExit(f"ping answered {reply!r}")
    finally:
        client.close()


def elasticsearch(port: str) -> None:
    """Cluster health yellow or green: the node has a master and can allocate primaries."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=3)
    try:
        health = es.cluster.health(wait_for_status="yellow", timeout="2s")
        if health["status"] not in ("yellow", "green"):
            raise SystemExit(f"cluster health is {health['status']}")
    finally:
        es.close()


def s3(port: str, bucket: str, access_key: str, secret_key: str) -> None:
    """ListBuckets answers; then make sure the platform's default bucket exists."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
    )
    names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket and bucket not in names:
        client.create_bucket(Bucket=bucket)


def _s3_client(port: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="elysia",
        aws_secret_access_key="elysia-secret",
    )


def s3_dump(port: str, directory: str) -> None:
    """Copy every bucket and object (body, content type, user metadata) into DIRECTORY.

    Why: moto's server keeps everything in memory, so without this a fault-injection
    stop/start of "S3" would also wipe the data, which a real S3 outage never does.
    """
    client = _s3_client(port)
    target = Path(directory)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    manifest: dict[str, list[dict[str, Any]]] = {}
    for bucket in client.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        objects: list[dict[str, Any]] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for i, item in enumerate(page.get("Contents", []), start=len(objects)):
                obj = client.get_object(Bucket=name, Key=item["Key"])
                blob = f"{name}/{i}"
                (tmp / name).mkdir(exist_ok=True)
                (tmp / blob).write_bytes(obj["Body"].read())
                objects.append(
                    {
                        "key": item["Key"],
                        "file": blob,
                        "content_type": obj.get("ContentType", "binary/octet-stream"),
                        "metadata": obj.get("Metadata", {}),
                    }
                )
        manifest[name] = objects
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def s3_load(port: str, directory: str) -> None:
    """Put back what `s3_dump` saved (buckets first, then objects)."""
    source = Path(directory)
    manifest_file = source / "manifest.json"
    if not manifest_file.exists():
        return
    client = _s3_client(port)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    manifest: dict[str, list[dict[str, Any]]] = json.loads(manifest_file.read_text())
    for name, objects in manifest.items():
        if name not in existing:
            client.create_bucket(Bucket=name)
        for obj in objects:
            client.put_object(
                Bucket=name,
                Key=obj["key"],
                Body=(source / obj["file"]).read_bytes(),
                ContentType=obj["content_type"],
                Metadata=obj["metadata"],
            )


def es_report(port: str) -> None:
    """What this node can do for the search engineer: version, modules, plugins, analyzers."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=30)
    # GET / lives in the `rest-root` module, absent from the integ-test zip unless our local
    # plugin is installed, so the version comes from the nodes info API.
    node = next(iter(es.nodes.info()["nodes"].values()))
    root_ok = bool(es.ping())
    modules = sorted(m["name"] for m in node.get("modules", []))
    plugins = sorted(p["name"] for p in node.get("plugins", []))
    analyzers: dict[str, bool] = {}
    for name in (
        "standard",
        "simple",
        "whitespace",
        "stop",
        "keyword",
        "brazilian",
        "portuguese",
        "english",
    ):
        try:
            es.indices.analyze(analyzer=name, text="Redação")
            analyzers[name] = True
        except Exception:
            analyzers[name] = False
    filters: dict[str, bool] = {}
    for name in (
        "lowercase",
        "stop",
        "asciifolding",
        "stemmer",
        "snowball",
        "brazilian_stem",
        "elision",
        "shingle",
    ):
        try:
            es.indices.analyze(tokenizer="standard", filter=[name], text="Redação")
            filters[name] = True
        except Exception:
            filters[name] = False
    report = {
        "version": node["version"],
        "build_flavor": node.get("build_flavor"),
        "root_endpoint": root_ok,
        "modules": modules,
        "plugins": plugins,
        "analyzers": analyzers,
        "token_filters": filters,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


COMMANDS: dict[str, Callable[..., None]] = {
    "mongodb": mongodb,
    "elasticsearch": elasticsearch,
    "s3": s3,
    "es-report": es_report,
    "s3-dump": s3_dump,
    "s3-load": s3_load,
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        COMMANDS[argv[1]](*argv[2:])
    except Exception as exc:
        print(f"{argv[1]}: not ready: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
