"""Request IDs: the client's own when it sends a valid one, else one unique to this process.

A fresh ID is a random per-process prefix and a counter. gunicorn imports this module in the master
and forks the workers from it, so the prefix and counter are made anew in every child after a fork:
otherwise every worker would hand out the same sequence of IDs.
"""
from __future__ import annotations

import itertools
import os
import re

VALID = re.compile(r"[A-Za-z0-9._\-]{1,64}")
_state: dict = {}


def _renew() -> None:
    _state["prefix"] = os.urandom(8).hex()
    _state["counter"] = itertools.count(1)


_renew()
os.register_at_fork(after_in_child=_renew)


def new_request_id() -> str:
    """A 32-character ID no other process or worker hands out."""
    return f"{_state['prefix']}{next(_state['counter']):016x}"


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID if it is 1..64 of [A-Za-z0-9._-] and nothing else; else a new one."""
    return header if header and VALID.fullmatch(header) else new_request_id()
