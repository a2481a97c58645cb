"""The kinds of value a setting can take: each parses a raw string or raises ValueError.

Each message continues "VAR='raw' ..." and ends with what is accepted, so it says what to fix.
Numbers are read strictly (ASCII digits only): Python's int() would also take "1_000", " 5 " and
full-width digits, which no one means in a setting.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

NODE_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,252})")
INT = re.compile(r"-?[0-9]{1,18}")
FLOAT = re.compile(r"-?[0-9]{1,18}(?:\.[0-9]{1,18})?")
WEAK_SECRETS = {"change-me", "changeme", "secret", "dev", "development"}


@dataclass(frozen=True)
class NodeAddress:
    name: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.name}={self.host}:{self.port}"


def accepted(parse) -> str:
    return f"accepted: {getattr(parse, 'accepted', 'see docs/configuration.md')}"


def _kind(text, bounds=None):
    """Mark a parser with what it accepts (text); a number's parser also with (lo, hi, integer), the
    range that experiment validation and the profiles' agreement test read from the same table."""
    def mark(fn):
        fn.accepted = text
        fn.bounds = bounds
        return fn
    return mark


def integer(lo: int, hi: int, unit: str = ""):
    @_kind(f"an integer {lo}..{hi}{unit}", (lo, hi, True))
    def parse(raw: str) -> int:
        if not INT.fullmatch(raw):
            raise ValueError(f"is not an integer; accepted: {lo}..{hi}{unit}")
        value = int(raw)
        if not lo <= value <= hi:
            raise ValueError(f"is out of range; accepted: {lo}..{hi}{unit}")
        return value
    return parse


def number(lo: float, hi: float, unit: str = ""):
    @_kind(f"a number {lo}..{hi}{unit}", (lo, hi, False))
    def parse(raw: str) -> float:
        if not FLOAT.fullmatch(raw):
            raise ValueError(f"is not a number; accepted: {lo}..{hi}{unit}")
        value = float(raw)
        if not lo <= value <= hi:
            raise ValueError(f"is out of range; accepted: {lo}..{hi}{unit}")
        return value
    return parse


def choice(*options: str, fold=lambda s: s):
    shown = ", ".join(options) if len(options) > 2 else " or ".join(repr(o) for o in options)

    @_kind(shown)
    def parse(raw: str) -> str:
        value = fold(raw.strip())
        if value not in options:
            raise ValueError(f"is invalid; accepted: {shown}")
        return value
    return parse


@_kind("0 or 1 (also true/false)")
def boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("0", "1", "true", "false", ""):
        raise ValueError("is invalid; accepted: 0 or 1 (also true/false)")
    return value in ("1", "true")


@_kind("name=host:port entries separated by commas, e.g. 'g1=127.0.0.1:6379,g2=127.0.0.1:6380'")
def nodes(raw: str) -> tuple:
    out, problems, seen = [], [], set()
    for item in [x.strip() for x in raw.split(",") if x.strip()]:
        m = re.fullmatch(r"([^=]+)=([^:]+):([0-9]{1,5})", item)
        if not m:
            problems.append(f"entry {item!r} is malformed; expected name=host:port, "
                            f"e.g. 'g1=127.0.0.1:6379,g2=127.0.0.1:6380'")
            continue
        name, host, port = m.group(1), m.group(2), int(m.group(3))
        if not NODE_NAME.fullmatch(name):
            problems.append(f"node name {name!r} is invalid; use lowercase letters, digits and '_', "
                            f"starting with a letter, at most 16 characters")
        elif name in seen:
            problems.append(f"lists node {name!r} twice; node names must be unique")
        if not HOST.fullmatch(host):
            problems.append(f"host {host!r} of {name!r} is invalid; use a host name or IPv4 address")
        if not 1 <= port <= 65535:
            problems.append(f"port {port} for {name!r} is out of range 1..65535")
        seen.add(name)
        out.append(NodeAddress(name, host, port))
    if not out and not problems:
        problems.append("is empty; list at least one node as name=host:port")
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(out)


@_kind("name=host:port entries separated by commas, or empty")
def nodes_or_empty(raw: str) -> tuple:
    return nodes(raw) if raw.strip() else ()


@_kind("host:port entries separated by commas, e.g. '127.0.0.1:26379,127.0.0.1:26380', or empty")
def addresses(raw: str) -> tuple:
    out, problems = [], []
    for item in [x.strip() for x in raw.split(",") if x.strip()]:
        m = re.fullmatch(r"([^:]+):([0-9]{1,5})", item)
        if not m or not HOST.fullmatch(m.group(1)) or not 1 <= int(m.group(2)) <= 65535:
            problems.append(f"entry {item!r} is not host:port with a port 1..65535")
            continue
        out.append((m.group(1), int(m.group(2))))
    if problems:
        raise ValueError("; ".join(problems) + "; e.g. '127.0.0.1:26379,127.0.0.1:26380'")
    return tuple(out)


@_kind("at least 16 random characters, at least 8 different, no spaces")
def secret_key(raw: str) -> str:
    if (len(raw) < 16 or raw.lower() in WEAK_SECRETS or len(set(raw)) < 8
            or any(c.isspace() or not c.isprintable() for c in raw)):
        raise ValueError("is missing or weak; set at least 16 random characters (at least 8 "
                         "different, no spaces), e.g. python3 -c 'import secrets; print(secrets.token_hex(32))'")
    return raw


@_kind("printable characters without spaces, at most 512; empty for no AUTH")
def password(raw: str) -> str:
    if len(raw) > 512 or any(c.isspace() or not c.isprintable() for c in raw):
        raise ValueError("is invalid; use at most 512 printable characters without spaces "
                         "(e.g. python3 -c 'import secrets; print(secrets.token_hex(16))')")
    return raw


@_kind("limits separated by ';', each at least 1 request, e.g. '100 per minute;1000 per hour'")
def rate_limit(raw: str) -> str:
    from limits import parse_many
    text = raw.strip()
    try:
        items = parse_many(text)
    except ValueError:
        items = None
    if not items:
        raise ValueError("is invalid; use limits like '100 per minute;1000 per hour' (separated by ';')")
    if any(item.amount < 1 or item.multiples < 1 for item in items):
        raise ValueError("allows no request at all; each limit needs at least 1 request per period, "
                         "e.g. '100 per minute'")
    return text


@_kind("a node name of REDIS_NODES, or empty")
def node_name_or_empty(raw: str) -> str:
    return raw.strip()


@_kind("host:port, e.g. 127.0.0.1:5001 or 0.0.0.0:5001; empty: 127.0.0.1:$PORT")
def bind(raw: str) -> str:
    text = raw.strip()
    if not text:
        return ""
    m = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):([0-9]{1,5})", text)
    if not m or not 1 <= int(m.group(2)) <= 65535:
        raise ValueError("is invalid; accepted: host:port with a port 1..65535, e.g. 127.0.0.1:5001")
    return text


@_kind("an absolute path of at most 100 characters, or empty for one per listen address")
def socket_path(raw: str) -> str:
    text = raw.strip()
    if text and (not os.path.isabs(text) or len(text) > 100):
        raise ValueError("is invalid; accepted: an absolute path of at most 100 characters (a Unix "
                         "socket path limit), or empty for $XDG_RUNTIME_DIR/caplab-<host>_<port>.ctl")
    return text


@_kind("an existing writable folder, or empty for single-process metrics")
def writable_dir(raw: str) -> str:
    text = raw.strip()
    if text and not (os.path.isdir(text) and os.access(text, os.W_OK | os.X_OK)):
        raise ValueError("is not an existing writable folder; create it (empty) before start, "
                         "or leave it unset for single-process metrics")
    return text
