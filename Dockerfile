# One image for both services: APP_MODE (cp or ap) picks the policy at start-up.
#   docker build -t caplab-app .
#   docker run --env-file .env -e APP_MODE=cp -e REDIS_NODES=g1=host:6379 -p 5001:5001 caplab-app
# BASE_IMAGE: the upstream image unless told otherwise (compose's APP_BASE_IMAGE; under podman
# without a registry, the local stand-in of docs/compose.md).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=5001 \
    WEB_WORKERS=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/caplab-metrics

# A fixed, unprivileged uid, so volume permissions do not depend on the build host.
RUN groupadd --system --gid 10001 caplab \
 && useradd --system --uid 10001 --gid caplab --no-create-home --shell /usr/sbin/nologin caplab

WORKDIR /srv/caplab

# The pinned tree first: this layer is rebuilt only when requirements.lock changes.
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY app/ ./app/
# alerts/ for compose's webhook receiver (alerts/webhook.py: the standard library and harness/'s
# argument types, the ground floor); /data is its volume.
COPY harness/ ./harness/
COPY alerts/ ./alerts/
RUN mkdir -p "$PROMETHEUS_MULTIPROC_DIR" /data && chown caplab:caplab "$PROMETHEUS_MULTIPROC_DIR" /data

USER caplab
EXPOSE 5001 5002

# Liveness: /health touches no Redis node (readiness is /ready, and depends on the mode).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '5001'), timeout=2)" || exit 1

# Listen on every interface of the container, on $PORT, unless BIND says otherwise. Stale metric
# files from before a restart would be summed into /metrics, so the folder starts empty.
# `python -m app serve` validates the settings (exit 2 naming each bad variable), then execs
# gunicorn with app/gunicorn_conf.py; exec keeps gunicorn as PID 1, so SIGTERM stops it gracefully.
CMD ["sh", "-c", "export BIND=\"${BIND:-0.0.0.0:${PORT}}\" && mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && rm -f \"$PROMETHEUS_MULTIPROC_DIR\"/*.db && exec python -m app serve"]
