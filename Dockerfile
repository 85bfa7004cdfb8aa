# syntax=docker/dockerfile:1.7
# Elysia: one image for every component (gateway, workers, reconciler, operator).
#   docker build -t ghcr.io/elysia-edu/elysia:0.1.0 .
# Models and lexicons (hunspell pt_BR, markers, scoring model) are package data of
# services.analysis (services/analysis/resources/): they ship inside the wheel, so the image needs
# no network at run time and no Debian hunspell-pt-br. Set INSTALL_HUNSPELL_PT_BR=1 only if a
# release stops vendoring them.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: wheels for the project and all its dependencies -------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# A compiler only for dependencies that ship no wheel for this platform; it stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first (cached while only the sources change).
COPY pyproject.toml README.m[d] ./
COPY services ./services
COPY operators ./operators
RUN pip wheel --wheel-dir /wheels .

# ---- runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG INSTALL_HUNSPELL_PT_BR=0
LABEL org.opencontainers.image.title="elysia" \
      org.opencontainers.image.description="Analyse student essays at scale (ENEM first)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/elysia-edu/elysia"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    TMPDIR=/tmp
# libgomp1/libstdc++6: OpenMP and C++ runtimes for wheels that do not bundle them (LightGBM).
RUN extra="" \
 && if [ "${INSTALL_HUNSPELL_PT_BR}" = "1" ]; then extra="hunspell-pt-br"; fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 libstdc++6 ${extra} \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 elysia \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin elysia
COPY --from=build /wheels /wheels
# pip byte-compiles at install time, so a read-only root filesystem never needs to write .pyc.
RUN pip install --no-index --find-links /wheels elysia \
 && rm -rf /wheels \
 && python -c "import importlib.resources as r; \
assert r.files('services.analysis').joinpath('resources').is_dir(), 'analysis resources missing'" \
 && elysia --help >/dev/null
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000 8080
# Kubernetes mounts an emptyDir on /tmp; the root filesystem can then be read-only.
ENTRYPOINT ["elysia"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
