# syntax=docker/dockerfile:1
#
# WAVIS images: one Dockerfile, one named target per process.
#
#   docker build --target keys         -t wavis-keys .
#   docker build --target tfhe-eval    -t wavis-tfhe-eval .
#   docker build --target ckks-compute -t wavis-ckks-compute .
#   docker build --target metering     -t wavis-metering .
#   docker build --target webhooks     -t wavis-webhooks .
#   docker build --target inference    -t wavis-inference .
#   docker build --target gateway      -t wavis-gateway .
#
# Base image: python:3.10-slim-bookworm (the openfhe wheel needs exactly Python 3.10 and
# bookworm's glibc, libstdc++ and libgomp): see docs/decisions/0028-python-3-10-on-bookworm.md.
ARG PYTHON_IMAGE=python:3.10-slim-bookworm

# ---------------------------------------------------------------------------------------------
# base: a virtualenv at /opt/venv holding the pinned dependency tree and the wavis package.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS base

# WAVIS_DEV=1 (Tilt sets it) installs the project in editable mode, so files that Tilt's
# live_update syncs into /app are what the process imports. Release images leave it at 0.
ARG WAVIS_DEV=0

# (Bytecode is compiled at install time here: the runtime root filesystem is read-only.)
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv \
 && pip install --no-cache-dir --upgrade "pip>=24"

WORKDIR /app
# README.m[d]: pyproject.toml names README.md as the readme; the glob keeps the build working
# whether or not it exists yet.
COPY pyproject.toml requirements.lock README.m[d] ./
COPY libs/ libs/
COPY services/ services/
COPY gateway/ gateway/
COPY protos/ protos/

# Every pinned dependency ships a manylinux wheel for cp310, so no compiler is needed. If one
# ever has to be built from source, install build-essential here: it stays out of runtime.
# Generated gRPC code (libs/wavis/generated/) is committed, so nothing is generated here.
# Release images import wavis from site-packages only, so the source copy is dropped.
RUN if [ "$WAVIS_DEV" = "1" ]; then \
      pip install --no-cache-dir -c requirements.lock -e /app; \
    else \
      pip install --no-cache-dir -c requirements.lock /app \
      && find /app -mindepth 1 -delete; \
    fi

# ---------------------------------------------------------------------------------------------
# runtime: the interpreter, the venv and the OpenMP runtime. No compilers, no pip cache.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# libgomp1: OpenFHE's shared libraries link libgomp.so.1 from the system (the wheel carries
# only an unversioned libgomp.so). libstdc++6 is normally present already; listed to be sure.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 libstdc++6 \
 && rm -rf /var/lib/apt/lists/*

# uid/gid 10001 matches runAsUser/runAsGroup/fsGroup in k8s/base.
RUN groupadd --system --gid 10001 wavis \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/wavis --create-home \
      --shell /usr/sbin/nologin wavis \
 && mkdir -p /var/lib/wavis/blobs \
 && chown -R 10001:10001 /var/lib/wavis

COPY --from=base /opt/venv /opt/venv
COPY --from=base /app /app

# Tilt's live_update writes into /app as the container user, so dev images hand it over.
ARG WAVIS_DEV=0
RUN if [ "$WAVIS_DEV" = "1" ]; then chown -R 10001:10001 /app; fi

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    OMP_NUM_THREADS=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WAVIS_DATA_DIR=/var/lib/wavis \
    WAVIS_GRPC_HOST=0.0.0.0 \
    WAVIS_HTTP_HOST=0.0.0.0

WORKDIR /app
USER 10001:10001

# Fail the build, not the pod, if the OpenFHE wheel cannot load on this base image.
RUN python -c "import openfhe, wavis, services, gateway"

# ---------------------------------------------------------------------------------------------
# One target per process. Each sets its default port so `docker run -p` works without env.
# ---------------------------------------------------------------------------------------------
FROM runtime AS keys
ENV WAVIS_GRPC_PORT=50051
EXPOSE 50051
CMD ["python", "-m", "services.keys"]

FROM runtime AS tfhe-eval
ENV WAVIS_GRPC_PORT=50052
EXPOSE 50052
CMD ["python", "-m", "services.tfhe_eval"]

FROM runtime AS ckks-compute
ENV WAVIS_GRPC_PORT=50053
EXPOSE 50053
CMD ["python", "-m", "services.ckks_compute"]

FROM runtime AS metering
ENV WAVIS_GRPC_PORT=50054
EXPOSE 50054
CMD ["python", "-m", "services.metering"]

FROM runtime AS webhooks
ENV WAVIS_GRPC_PORT=50055
EXPOSE 50055
CMD ["python", "-m", "services.webhooks"]

FROM runtime AS inference
ENV WAVIS_GRPC_PORT=50056
EXPOSE 50056
CMD ["python", "-m", "services.inference"]

FROM runtime AS gateway
ENV WAVIS_HTTP_PORT=8080
EXPOSE 8080
CMD ["python", "-m", "gateway"]
