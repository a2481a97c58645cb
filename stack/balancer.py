"""HAProxy in front of several instances of each service: its config, its process, and its view of them.

One frontend per service on the service's port (5001/5002), one backend with an instance per
server. HAProxy checks each instance's ``/ready``: two failed checks take it out, two good ones put
it back. The balancing policy is round robin, or affinity: a cookie HAProxy sets (``cookie``) or a
hash of the client's session header (``header``). Its stats page (``/stats``, CSV at
``/stats;csv``) and Prometheus endpoint (``/metrics``) listen on their own port; its runtime API
(a unix socket in the run folder) drains and readies instances (a rolling restart).
"""
from __future__ import annotations

import csv
import io
import json
import socket
from pathlib import Path

import requests

from .config import SERVICES, SESSION_HEADER, StackConfig
from .process import ManagedProcess, StackError, require_binary

# HAProxy's own answers, in the services' error shape (JSON, with the outcome a client needs):
# 503 means no instance took the request, so it was not applied; 502/504 mean one took it and
# never answered, so nobody knows.
ERRORS = {
    502: ("bad_gateway", "the instance closed the connection without an answer", "unknown"),
    503: ("unavailable", "no instance of this service is ready", "not_applied"),
    504: ("gateway_timeout", "the instance did not answer in time", "unknown"),
}
SOCKET = "haproxy.sock"
INSTANCE_HEADER = "X-Caplab-Instance"


def haproxy_binary() -> str:
    return require_binary("haproxy", package="haproxy", step="haproxy")


def render(cfg: StackConfig, run_dir: Path) -> str:
    """The whole haproxy.cfg for this stack."""
    out = [
        "global",
        "    log stderr format raw local0 notice",
        f"    stats socket {Path(run_dir) / SOCKET} mode 600 level admin",
        "    maxconn 4096",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option dontlognull",
        "    timeout connect 1s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout queue 5s",
        # A request must arrive whole within 5 s, and reaches an instance only once it has: a slow
        # client holds one of HAProxy's cheap connections, never an instance's worker.
        "    timeout http-request 5s",
        "    option http-buffer-request",
        # A refused connection (an instance stopped or crashed) is retried on another instance: the
        # request never reached the first one, so resending it cannot apply it twice.
        "    retries 3",
        "    option redispatch 1",
        f"    default-server check inter {cfg.check_interval_ms}ms fall 2 rise 2",
    ]
    for status, (code, message, outcome) in ERRORS.items():
        body = json.dumps({"error": {"code": code, "message": f"haproxy: {message}"}, "outcome": outcome})
        out.append(f"    http-error status {status} content-type application/json string '{body}'")
    for s in SERVICES:
        out += ["", f"frontend {s}", f"    bind 127.0.0.1:{cfg.service_ports[s]}", f"    default_backend {s}",
                "", f"backend {s}", *policy_lines(cfg.balance),
                "    option httpchk GET /ready", "    http-check expect status 200",
                # which instance served: clients and histories can tell them apart
                f"    http-response set-header {INSTANCE_HEADER} %s"]
        cookie = " cookie {name}" if cfg.balance == "cookie" else ""
        for k in range(1, cfg.instances + 1):
            name = instance_name(s, k)
            out.append(f"    server {name} 127.0.0.1:{cfg.instance_port(s, k)}{cookie.format(name=name)}")
    out += ["", "frontend stats", f"    bind 127.0.0.1:{cfg.haproxy_stats_port}",
            "    http-request use-service prometheus-exporter if { path /metrics }",
            "    stats enable", "    stats uri /stats", "    stats refresh 5s", ""]
    return "\n".join(out)


def policy_lines(balance: str) -> list[str]:
    if balance == "cookie":
        return ["    balance roundrobin", "    cookie CAPLAB_INSTANCE insert indirect nocache httponly"]
    if balance == "header":  # no header: round robin (HAProxy's rule for hdr())
        return [f"    balance hdr({SESSION_HEADER})", "    hash-type consistent"]
    return ["    balance roundrobin"]


def instance_name(service: str, k: int) -> str:
    """The server name of instance k in HAProxy, and its process name suffix: ap2."""
    return f"{service}{k}"


def balancer_process(cfg: StackConfig, run_dir: Path) -> ManagedProcess:
    """HAProxy as one of the stack's processes; ``write_config`` must run before it starts."""
    path = Path(run_dir) / "haproxy.cfg"
    return ManagedProcess("haproxy", [haproxy_binary(), "-db", "-f", str(path)], run_dir,
                          port=cfg.haproxy_stats_port, ready=lambda: _answers(cfg))


def write_config(cfg: StackConfig, run_dir: Path) -> Path:
    path = Path(run_dir) / "haproxy.cfg"
    path.write_text(render(cfg, run_dir))
    return path


def stats_url(cfg: StackConfig) -> str:
    return f"http://127.0.0.1:{cfg.haproxy_stats_port}/stats"


def _answers(cfg: StackConfig) -> bool:
    return requests.get(stats_url(cfg) + ";csv", timeout=1).status_code == 200


def servers(cfg: StackConfig) -> list[dict]:
    """HAProxy's view of every instance: state (UP, DOWN, MAINT, ...), last check, sessions, requests."""
    text = requests.get(stats_url(cfg) + ";csv", timeout=2).text
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return [{"service": r["pxname"], "server": r["svname"], "status": r["status"],
             "check": r["check_status"], "current": int(r["scur"] or 0), "total": int(r["stot"] or 0),
             "downs": int(r["chkdown"] or 0), "since_s": int(r["lastchg"] or 0)}
            for r in rows if r["pxname"] in SERVICES and r["svname"] not in ("FRONTEND", "BACKEND")]


def command(run_dir: Path, line: str, timeout: float = 2.0) -> str:
    """Send one command to HAProxy's runtime API (e.g. ``set server ap/ap2 state drain``)."""
    path = Path(run_dir) / SOCKET
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise StackError(f"HAProxy's runtime API at {path} did not answer ({exc}); is the stack up "
                         f"with INSTANCES > 1?") from None
    reply = b"".join(chunks).decode(errors="replace").strip()
    if reply and line.startswith("set "):  # a set command answers nothing when it worked
        raise StackError(f"HAProxy refused `{line}`: {reply}")
    return reply
