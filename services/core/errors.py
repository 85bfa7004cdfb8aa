"""Which backend failures are transient (retry later) and which are final.

One classification serves both sides: a worker retries a transient error with backoff and fails an
action for good otherwise; the gateway answers 503 with `Retry-After` for a transient error instead
of a 500, because the request was fine and the same call will work once the backend is back.
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectTimeoutError as BotoConnectTimeout,
)
from elasticsearch import ApiError as EsApiError
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch import ConnectionTimeout as EsConnectionTimeout
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    BusyLoadingError,
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    BotoConnectTimeout,
    EsConnectionError,
    EsConnectionTimeout,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """True for failures that a later retry of the same operation may not see."""
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = exc.response.get("Error", {}).get("Code", "")
        return status >= 500 or code in {"SlowDown", "RequestTimeout", "ServiceUnavailable"}
    if isinstance(exc, EsApiError):
        return exc.meta.status >= 500 or exc.meta.status == 429
    return False


def backend_of(exc: BaseException) -> str:
    """A short name of the backend a transient error came from (for messages and metrics)."""
    module = type(exc).__module__
    for prefix, name in (
        ("pymongo", "mongodb"),
        ("redis", "redis"),
        ("botocore", "s3"),
        ("elasticsearch", "elasticsearch"),
        ("elastic_transport", "elasticsearch"),
    ):
        if module.startswith(prefix):
            return name
    return "backend"
