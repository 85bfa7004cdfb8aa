"""The teachers' web app: static files served at `/` and `/ui/...` (no build step, no server state).

The pages are plain HTML/CSS/ES modules that talk to the public API with the API key the user
pastes (kept in the browser's localStorage), so this module only has to hand out files. Files are
resolved inside the package directory and nothing outside it is ever served (`..` and absolute
paths are refused by `_resolve`). `no-cache` makes the browser revalidate, so a new deployment is
picked up without stale modules mixing with new ones.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from services.gateway.errors import ApiError

router = APIRouter(include_in_schema=False)

CACHE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# The app is same-origin only: its own modules and styles (no inline code), API calls to this
# gateway, the CSV export as a blob: download. The browser reports anything else as a violation
# (and the end-to-end tests fail on any console error, so a violation cannot go unnoticed).
SHELL_HEADERS = {
    **CACHE_HEADERS,
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


def web_root() -> Path:
    """The installed `services/gateway/web` directory (package data, see pyproject)."""
    return Path(str(resources.files("services.gateway").joinpath("web")))


def _resolve(relative: str) -> Path | None:
    """The file under the web root for `relative`, or None if it escapes the root or is missing."""
    root = web_root().resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _file(path: Path, headers: dict[str, str] = CACHE_HEADERS) -> FileResponse:
    media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/")
async def home() -> RedirectResponse:
    """The site root opens the app (the API lives under /v1)."""
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui")
@router.get("/ui/")
async def app_shell() -> FileResponse:
    """The single page: every view is a `#/...` route rendered by the JS modules."""
    path = _resolve("index.html")
    if path is None:
        raise ApiError(404, "not_found", "the web app is not installed")
    return _file(path, SHELL_HEADERS)


@router.get("/ui/{relative:path}")
async def asset(relative: str) -> FileResponse:
    """A static asset (JS module, stylesheet, icon)."""
    path = _resolve(relative)
    if path is None or path.suffix not in MEDIA_TYPES:
        raise ApiError(404, "not_found", f"no such file: /ui/{relative}")
    return _file(path)
