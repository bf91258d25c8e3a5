# One image for the three Python services; the compose file picks the command:
#   perimeter sim | perimeter fusion | perimeter api   (configured by PERIMETER_* variables)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: the project's wheel and every dependency's wheel, at the pinned versions -------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY deploy/constraints.txt ./deploy/constraints.txt
COPY perimeter ./perimeter
COPY sim ./sim
COPY services ./services
# The "postgres" extra (psycopg) serves the compose postgres profile; pip only warns while the
# project does not declare it.
RUN pip wheel --wheel-dir /wheels --constraint deploy/constraints.txt ".[postgres]"

# --- runtime: wheels installed offline, no compiler, no pip, a non-root user ----------------
FROM ${PYTHON_IMAGE} AS runtime
# The containers are read-only but for /tmp: numba's compiled-kernel cache goes there.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --system --gid 10001 perimeter \
 && useradd --system --uid 10001 --gid perimeter --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin perimeter \
 && mkdir -p /app /data \
 && chown perimeter:perimeter /data
# The wheels are bind-mounted from the builder, so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels "western-heights-perimeter[postgres]" \
 && pip uninstall --yes setuptools wheel pip
COPY deploy/healthcheck.py /app/healthcheck.py
WORKDIR /app
USER 10001:10001
EXPOSE 8000
CMD ["perimeter", "--help"]
