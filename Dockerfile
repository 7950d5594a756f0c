# statemachine: the REST API (`serve`) and the workers (`worker`) in one image, against a
# Redis given as REDIS_URL.  See README, "Container".
#   docker build -t statemachine .
#   docker run -p 8080:8080 -e REDIS_URL=redis://redis-host:6379/0 statemachine
#   docker run -e REDIS_URL=redis://redis-host:6379/0 statemachine worker --concurrency 8
#
# BASE: any Debian-like image with Python 3.11+ and pip (the tests pass a stand-in made with
# debootstrap, as they reach no image registry).
ARG BASE=python:3.11-slim

# The dependency list alone, read from pyproject.toml: the slow layer below is rebuilt only
# when the list changes, not for any other edit of pyproject.toml or of the source.
FROM ${BASE} AS requirements
COPY pyproject.toml /
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /requirements.txt

FROM ${BASE}
LABEL org.opencontainers.image.title=statemachine

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    STATEMACHINE_DATA_DIR=/data

# A package index other than PyPI (a mirror or proxy the build machine must use); unset by
# default, so pip's own configuration applies.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST

COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && useradd --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin statemachine \
    && mkdir /data && chown statemachine /data && chmod 700 /data

WORKDIR /app
# The source, run in place (cli.py imports the package next to it, which finds schemas/ and
# definitions/ next to itself, as in a checkout).
COPY cli.py ./
COPY schemas ./schemas
COPY definitions ./definitions
COPY statemachine ./statemachine
# Compiled now, not at every container start (PYTHONDONTWRITEBYTECODE: nothing is written then).
RUN python -m compileall -q statemachine

USER statemachine
EXPOSE 8080
# The server is PID 1 (no shell in between), so `docker stop`'s SIGTERM reaches it and it
# shuts down gracefully: in-flight requests finish, workers hand back their work.
ENTRYPOINT ["python", "cli.py"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
