"""Object storage (S3 API through boto3): the original of every essay and every uploaded CSV.

Every key starts with `tenants/{tenant_id}/`, built only by the helpers below, so no code path can
read or write another tenant's objects by forgetting a prefix. boto3 is synchronous; async callers
wrap these calls in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from services.core.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


RANGE_MARK = "#bytes="


def ranged_key(key: str, start: int, end: int) -> str:
    """A key naming bytes [start, end) of an object (essays of a CSV batch share one part object).

    Readers pass it to `get_text` like any key: the range is fetched with an HTTP Range request.
    """
    return f"{key}{RANGE_MARK}{start}-{end - 1}"


def split_range(key: str) -> tuple[str, str | None]:
    """(object key, "start-end" inclusive byte range or None)."""
    base, mark, span = key.partition(RANGE_MARK)
    return (base, span) if mark else (key, None)


class ObjectNotFound(KeyError):
    """The object does not exist (or belongs to no key this tenant can reach)."""


def _check_id(value: str, what: str) -> str:
    if not _SAFE_ID.match(value) or value in {".", ".."}:
        raise ValueError(f"invalid {what} for an object key: {value!r}")
    return value


def essay_key(tenant_id: str, essay_id: str) -> str:
    return (
        f"tenants/{_check_id(tenant_id, 'tenant id')}/essays/{_check_id(essay_id, 'essay id')}.txt"
    )


def batch_key(tenant_id: str, batch_id: str) -> str:
    return (
        f"tenants/{_check_id(tenant_id, 'tenant id')}/batches/{_check_id(batch_id, 'batch id')}.csv"
    )


class ObjectStore:
    """A bucket on an S3-compatible server."""

    def __init__(self, settings: Settings, client: S3Client | None = None) -> None:
        self.bucket = settings.s3_bucket
        self.client: S3Client = client or boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id.get_secret_value(),
            aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
            config=Config(
                connect_timeout=settings.backend_timeout_s,
                read_timeout=max(settings.backend_timeout_s, 30.0),
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )

    def ensure_bucket(self) -> None:
        """Create the bucket when missing (idempotent: safe at every start-up)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
                raise
            self.client.create_bucket(Bucket=self.bucket)

    def put_bytes(self, key: str, data: bytes, content_type: str, **meta: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata=meta
        )

    def put_text(self, key: str, text: str, **meta: str) -> None:
        self.put_bytes(key, text.encode("utf-8"), "text/plain; charset=utf-8", **meta)

    def upload_stream(self, key: str, stream: IO[bytes], content_type: str) -> None:
        """Stream a file-like object up (multipart above 8 MiB), never whole in memory."""
        self.client.upload_fileobj(
            stream, self.bucket, key, ExtraArgs={"ContentType": content_type}
        )

    def get_bytes(self, key: str) -> bytes:
        data: bytes = self._get(key)["Body"].read()
        return data

    def get_text(self, key: str) -> str:
        return self.get_bytes(key).decode("utf-8")

    def iter_chunks(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The object's bytes as a stream of chunks (for CSVs of any size)."""
        body = self._get(key)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=split_range(key)[0])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        if split_range(key)[1] is not None:
            return  # a slice of a batch's part object: removed with its batch, not alone
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def presigned_get(self, key: str, expires_s: int = 900) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
        )

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def _get(self, key: str) -> Any:
        base, span = split_range(key)
        try:
            if span is not None:
                return self.client.get_object(Bucket=self.bucket, Key=base, Range=f"bytes={span}")
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                raise ObjectNotFound(key) from None
            raise
