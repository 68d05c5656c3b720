"""gunicorn's configuration for pages and the API (the ``web`` process of deploy/Procfile).

Sync workers: each runs one request at a time on its own thread, in parallel with the others;
Django's sync views need nothing more, and a worker's thread keeps its database connection
(or its pool) for every request it serves. Event streams never come here: nginx sends them to
the stream server (uvicorn), where an open stream holds no worker.

Everything is read from the environment, so the same file serves one machine and many:
  WEB_CONCURRENCY   workers (default: 2 per CPU)
  WEB_BIND          where to listen (default: unix:$RUN_DIR/web.sock; e.g. 0.0.0.0:8001 on a web machine)
  WEB_TIMEOUT       seconds a request may run before its worker is replaced (default 30)
  WEB_ACCESS_LOG    an access log path, or "-" for stdout (default: none; nginx logs requests)
  FORWARDED_ALLOW_IPS  addresses whose X-Forwarded-Proto is believed (gunicorn's own variable;
                    default 127.0.0.1,::1; connections on a unix socket are always trusted)
"""

import os
from pathlib import Path

run_dir = Path(os.environ.get("RUN_DIR", "var/run")).resolve()
run_dir.mkdir(parents=True, exist_ok=True)

wsgi_app = "comments_project.wsgi:application"
bind = [os.environ.get("WEB_BIND") or f"unix:{run_dir / 'web.sock'}"]
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
# Load Django once in the master: workers start faster and share its memory pages.
preload_app = True
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# honcho kills what is still running 5 s after asking it to stop: finish requests before that.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "4"))
# Requests wait here while every worker is busy (nginx keeps the slow clients).
backlog = int(os.environ.get("WEB_BACKLOG", "2048"))
# The longest request line gunicorn takes (its maximum): a counts request names up to 100 keys.
limit_request_line = 8190
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# Workers' heartbeat files in memory, not on a disk that may stall (gunicorn's advice).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "comments-web"
# gunicorn's control socket would otherwise live in $HOME, shared by every gunicorn of the user.
control_socket = str(run_dir / "gunicorn.ctl")


def pre_fork(server, worker):
    """Nothing the master opened while loading the app may be shared with a worker.

    Loading the app opens no connection today; if that ever changes, a SQLite file handle or a
    pool's threads copied into a forked worker would corrupt or hang, so they are closed first.
    """
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        if connection.alias in getattr(connection, "_connection_pools", {}):  # PostgreSQL's pool
            connection.close_pool()
