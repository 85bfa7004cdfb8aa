"""The `elysia` command: thin Typer commands that call the rooms of `services`.

Each command group lives in its own module and registers itself on the shared `app` when
imported; heavy imports happen inside the commands so `elysia --help` stays instant.
"""

from services.cli import admin as _admin  # noqa: F401  (admin create-tenant, create-key)
from services.cli import analysis as _analysis  # noqa: F401  (analyze)
from services.cli import operator as _operator  # noqa: F401  (operator)
from services.cli import platform as _platform  # noqa: F401  (health, worker, reconcile, serve)
from services.cli import scoring as _scoring  # noqa: F401  (score, train)
from services.cli import search as _search  # noqa: F401  (search status/reindex/repair)
from services.cli import upload as _upload  # noqa: F401  (upload FILE.csv)
from services.cli.app import app

__all__ = ["app"]
