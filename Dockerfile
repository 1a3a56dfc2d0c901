# RPA-banken application image (stateless: data lives in PostgreSQL, Meilisearch and the /data volume).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RPABANK_DATA_DIR=/data

RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 rpabank \
    && mkdir -p /data && chown rpabank /data

WORKDIR /app
# the pinned dependencies first (a layer that changes only with the lock file), then the project without them
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY core ./core
COPY service ./service
COPY catalogue ./catalogue
COPY codebank ./codebank
COPY search ./search
RUN pip install --no-cache-dir --no-deps .

USER rpabank
VOLUME ["/data"]
EXPOSE 8000
# Readiness: the database, the search and the schema. The start period covers a first index rebuild.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health/ready', timeout=8)" || exit 1
CMD ["rpabank", "serve", "--host", "0.0.0.0", "--port", "8000"]
