"""The root Typer application every command module registers on."""

import typer

app = typer.Typer(
    name="elysia",
    help="Elysia: analyse student essays at scale (ENEM redação first).",
    no_args_is_help=True,
    add_completion=False,
)
