"""Gunicorn settings for the `web` service of docker-compose.yml (read by gunicorn, never by Django).

The container listens on all its interfaces; docker-compose.yml publishes the port on 127.0.0.1 only, so the
one client is the reverse proxy on the host. That proxy terminates TLS and must overwrite X-Forwarded-Proto:
Django trusts it (SECURE_PROXY_SSL_HEADER) to know that a request came over HTTPS. It must also append the
client's address to X-Forwarded-For: REMOTE_ADDR is the proxy for every request, and the portal takes the
client's address from that header (TRUSTED_PROXY_HOPS, espace_sante/lib/client_address.py).
"""

import gunicorn.http.wsgi

wsgi_app = "espace_sante.wsgi:application"
bind = "0.0.0.0:8000"

# Sync workers: the views are short and blocking (PostgreSQL, Redis); PDFs are rendered by Celery tasks.
workers = 3
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 1000
max_requests_jitter = 100

# The root filesystem is read-only in docker-compose.yml: heartbeat files go to shared memory, and the
# runtime control socket (gunicorn >= 25, written under $HOME by default) is not used.
worker_tmp_dir = "/dev/shm"  # noqa: S108  (a tmpfs of the container, private to it)
control_socket_disable = True

# No access log here: request lines carry one-time tokens (password reset, activation links). The reverse
# proxy keeps its own log; Django records who did what in the audit trail.
accesslog = None
errorlog = "-"
loglevel = "info"
proc_name = "espace_sante"

# Gunicorn 27 writes `Server: gunicorn` on every answer and has no setting for it; its Response reads the name
# from gunicorn.http.wsgi.SERVER when it is built, in the workers forked from this process. A neutral name
# says nothing about the software (Django's own Server header is removed by NoStoreMiddleware). The WSGI
# environ's SERVER_SOFTWARE is not sent, but is neutral too. tests/test_deploy.py reads the header.
SERVER_HEADER = "espace-sante"
gunicorn.http.wsgi.SERVER = SERVER_HEADER
gunicorn.http.wsgi.SERVER_SOFTWARE = SERVER_HEADER
