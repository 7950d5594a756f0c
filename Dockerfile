# statemachine: the REST API and workers, against an external Redis given as REDIS_URL.
#   docker build -t statemachine .
#   docker run -p 8080:8080 -e REDIS_URL=redis://redis:6379/0 statemachine
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY pyproject.toml README.md cli.py ./
COPY statemachine ./statemachine
COPY schemas ./schemas
COPY definitions ./definitions

# Editable install: the package reads schemas/ from next to itself, as in a checkout.
RUN pip install -e . \
    && useradd --system --uid 10001 --home-dir /app statemachine

USER statemachine
EXPOSE 8080
# exec: the server becomes PID 1 and receives docker stop's SIGTERM (graceful shutdown).
CMD ["sh", "-c", "exec python cli.py serve --host 0.0.0.0 --port 8080 --redis-url \"$REDIS_URL\""]
