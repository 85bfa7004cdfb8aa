"""`elysia` commands: scoring."""

from services.cli.app import app  # noqa: F401
