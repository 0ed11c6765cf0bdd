# The bot as a container: `docker compose up` runs it with PostgreSQL (docker-compose.yml).
#   docker build -t videobot .
#   docker run --env-file .env videobot            # the bot (migrates the schema itself at start)
#   docker run --env-file .env videobot migrate    # only the migration: the release step
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # matplotlib caches fonts in a writable folder; the image's user has no home worth keeping.
    MPLCONFIGDIR=/tmp/matplotlib \
    DATA_DIR=/app/data \
    # Inside the container the health and metrics server listens beyond loopback, so the healthcheck
    # and a Prometheus on the compose network reach it; publish the port on the host's loopback only.
    HTTP_HOST=0.0.0.0

WORKDIR /app

# The pinned requirements first, so code changes do not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin videobot \
    && mkdir -p /app/data \
    && chown videobot:videobot /app/data

COPY --chown=root:root . .
RUN chmod 0755 docker-entrypoint.sh

USER videobot

VOLUME ["/app/data"]
EXPOSE 8080

ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["python", "bot.py"]
