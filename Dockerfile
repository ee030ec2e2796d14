# The lineagegraph server on Python 3.11. `docker compose up` (docker-compose.yml) runs it
# against Neo4j; on its own it serves the embedded store in the container user's home.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The build context holds only what installing needs (see .dockerignore); the UI's
# vendored assets are committed under src/, so no Node is needed here.
WORKDIR /src
COPY . .
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 --user-group lineagegraph
# Numeric, so orchestrators can verify the image does not run as root.
USER 10001:10001
WORKDIR /home/lineagegraph

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/healthz', timeout=4)"]

# --open: listening on all interfaces is intended here; set LINEAGEGRAPH_TOKENS to require
# bearer tokens.
CMD ["lineagegraph", "serve", "--host", "0.0.0.0", "--port", "8000", "--open"]
