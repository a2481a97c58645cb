"""gunicorn settings for both services: process-based sync workers, metrics across workers.

Sync workers, because pybreaker holds its lock for the whole guarded call: threads in one process
would queue on it. Each worker has its own breakers (one per node), as the design says.
"""
import os

bind = os.environ.get("BIND", "127.0.0.1:" + os.environ.get("PORT", "5001"))
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "sync"
timeout = int(os.environ.get("WEB_TIMEOUT_SEC", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT_SEC", "10"))
keepalive = 5
# Values may travel in the path (POST /write/<key>/<value>); allow the longest line gunicorn can.
limit_request_line = 8190
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the multiprocess metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """Stop the maintenance loop and close node connections on a graceful exit."""
    app = getattr(worker, "wsgi", None)
    service = getattr(app, "extensions", {}).get("caplab") if app is not None else None
    if service is not None:
        service.close()


def on_starting(server):
    """Refuse to start on bad settings with one clear message, before any worker boots."""
    import sys

    from app.config import ConfigError, load_settings
    try:
        load_settings()
    except ConfigError as exc:
        print(f"caplab: {exc}", file=sys.stderr)
        sys.exit(2)
