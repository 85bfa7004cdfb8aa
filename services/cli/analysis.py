"""`elysia` commands: analysis."""

from services.cli.app import app  # noqa: F401
