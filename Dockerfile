# hyperoru application image: one image for every role of the compose stack.
#   API (default):  hyperoru api
#   worker:         hyperoru worker
#   migrations:     hyperoru migrate
# Configuration comes only from HYPERORU_* environment variables at run time (config/settings.py);
# no secret and no .env file is in the image (.dockerignore keeps .env out of the context).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libseccomp2: pyseccomp loads libseccomp.so.2 through ctypes; the program sandbox fails closed
# without it. (The slim image usually has it already, through apt; this makes it explicit.)
RUN apt-get update \
    && apt-get install -y --no-install-recommends libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged runtime user with a fixed numeric id (so orchestrators can verify non-root).
RUN groupadd --system --gid 10001 hyperoru \
    && useradd --system --uid 10001 --gid hyperoru --home-dir /home/hyperoru --create-home \
       --shell /usr/sbin/nologin hyperoru \
    && install -d -o hyperoru -g hyperoru -m 0750 /var/lib/hyperoru

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes do not reinstall them.
# Runtime dependencies only: the `dev` extra (pytest, ruff, mypy, test servers) is not installed.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
       > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself, installed as a package: the processes run the installed `hyperoru`
# command and modules (migrations, the sandbox's scripts and the web assets ship in the wheel),
# not the source tree, which is removed once built.
COPY . /tmp/src
RUN pip install --no-deps /tmp/src && rm -rf /tmp/src
WORKDIR /home/hyperoru

# Only used for SQLite/dev-server files; the compose stack keeps all state in PostgreSQL.
ENV HYPERORU_DATA_DIR=/var/lib/hyperoru \
    HYPERORU_API_HOST=0.0.0.0 \
    HYPERORU_API_PORT=8000

USER 10001:10001
EXPOSE 8000
CMD ["hyperoru", "api"]
