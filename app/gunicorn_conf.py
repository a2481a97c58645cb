"""gunicorn settings for both services, all from the one validated settings table (app/config.py).

gevent workers (app/worker.py): a connection holds a greenlet, not a worker, so slow clients cannot
starve /health. Each worker has its own breakers (one per node), as the design says; metrics are
combined across workers by prometheus-client's multiprocess mode.
"""
import os
import sys

from app.config import ConfigError, load_settings

try:
    _settings = load_settings()
except ConfigError as _exc:
    print(f"caplab: {_exc}", file=sys.stderr)
    sys.exit(2)

bind = _settings.listen
workers = _settings.web_workers
worker_class = {"gevent": "app.worker.CaplabWorker", "sync": "app.worker.CaplabSyncWorker"}[
    _settings.web_worker_class]
worker_connections = _settings.web_worker_connections
timeout = _settings.web_timeout_sec
graceful_timeout = _settings.web_graceful_timeout_sec
# No keep-alive: each request comes on its own connection, as with sync workers, so the worker with
# the least to do accepts the next one. A kept-alive connection stays with the worker that accepted
# it: wrk's 64 connections split 45/19 between two workers, and the busier one made the p99.
keepalive = 0
# Values may travel in the path (POST /write/<key>/<value>); allow the longest line gunicorn can.
limit_request_line = 8190
# Every gunicorn of a user would share one control socket, and each start unlinks the last one's.
control_socket = _settings.control_socket_path()
control_socket_mode = 0o600
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()


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
