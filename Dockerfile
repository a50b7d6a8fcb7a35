# syntax=docker/dockerfile:1
# ttsign in a container: a wheel built in one stage, installed in a slim final stage with no build tools.
#
#   docker build -t ttsign .
#   docker build --build-arg WITH_BROWSER=1 -t ttsign:browser .     # + Debian's chromium, browser provider
#   docker run --rm -p 127.0.0.1:8080:8080 -e TTSIGN_API_KEYS=your-key ttsign
#
# The image binds 0.0.0.0 (a container's loopback is unreachable from outside it), and ttsign refuses to
# start on a non-loopback address without API keys: pass TTSIGN_API_KEYS (or TTSIGN_API_KEYS_FILE) at run
# time, from an env file (--env-file, compose's env_file), never baked into the image.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2
# Only what the wheel is made of (.dockerignore lets nothing else in).
COPY pyproject.toml README.md LICENSE ./
COPY ttsign ./ttsign
RUN python -m build --wheel --outdir /wheels .

FROM python:${PYTHON_VERSION}-slim-bookworm
# WITH_BROWSER=1 adds Debian's chromium and the `browser` extra (Playwright, driving that chromium; no browser
# is downloaded) and turns the browser provider on after the native one. Empty (the default): native only.
ARG WITH_BROWSER=""
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TTSIGN_HOST=0.0.0.0 \
    TTSIGN_PORT=8080 \
    TTSIGN_LOG_JSON=true \
    TTSIGN_PROVIDERS=native${WITH_BROWSER:+,browser} \
    TTSIGN_BROWSER_EXECUTABLE=/usr/bin/chromium

# Debian's chromium follows its security updates, so it is not pinned to one version.
# hadolint ignore=DL3008
RUN case "$WITH_BROWSER" in \
      "") ;; \
      1) apt-get update \
         && apt-get install -y --no-install-recommends chromium fonts-liberation \
         && rm -rf /var/lib/apt/lists/* ;; \
      *) echo "WITH_BROWSER must be 1 or empty, not '$WITH_BROWSER'" >&2; exit 1 ;; \
    esac

# The wheel comes from the builder stage through a bind mount: no copy of it stays in a layer.
# TTSIGN_STORE=redis://... works in every image (redis-py is a dependency; the `redis` extra names it too).
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    extras="redis${WITH_BROWSER:+,browser}" \
    && pip install --no-cache-dir "$(ls /wheels/ttsign-*.whl)[${extras}]" \
    && groupadd --system --gid 10001 ttsign \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/ttsign --shell /usr/sbin/nologin ttsign

# An empty working directory: ttsign reads a .env from its working directory, and there is none here.
WORKDIR /home/ttsign
USER 10001:10001
EXPOSE 8080
# /readyz: 200 once the signer's self-test passed, 503 before it and while shutting down.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('TTSIGN_PORT', '8080'), timeout=2)"]
# SIGTERM drains in-flight requests for TTSIGN_SHUTDOWN_TIMEOUT (10 s): give `docker stop` -t 15 or more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["ttsign"]
CMD ["serve"]
