# syntax=docker/dockerfile:1
# One image for the web, worker and beat services of docker-compose.yml. It holds no secret and no
# configuration: everything comes from the environment at run time (espace_sante/settings/base.py).
FROM python:3.11-slim-bookworm

# The image always runs the production settings; manage.py, wsgi.py and celery.py default to dev.py,
# whose fixed keys are public.
ENV DJANGO_SETTINGS_MODULE=espace_sante.settings.base \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    XDG_CACHE_HOME=/tmp/.cache

# WeasyPrint's native libraries and the fonts the PDF templates use.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Every wheel is checked against the lock.
COPY requirements/pip.lock requirements/base.lock requirements/
RUN pip install --require-hashes -r requirements/pip.lock && pip install --require-hashes -r requirements/base.lock

# The code belongs to root and is read-only for the service user.
COPY . .

RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /srv/media /srv/static \
    && chown app:app /srv/media /srv/static

USER app:app

EXPOSE 8000
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py"]
