"""`python -m services.cli` runs the `elysia` command (used by tests and the container)."""

from services.cli import app

app()
