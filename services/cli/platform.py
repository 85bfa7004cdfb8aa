"""`elysia` commands: platform."""

from services.cli.app import app  # noqa: F401
