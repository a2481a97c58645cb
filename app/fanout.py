"""One command to several nodes at once: send to every node, then read every reply.

A CP write, a CP read and an AP write each talk to every node. One after the other, a request
waits for two round trips through Toxiproxy; sent together, it waits for about one. py-spy and
``top`` showed the sync workers idle about 40% of an AP write, blocked on the second trip.

Each node's call keeps the guarantees of ``Node.call``: it goes through that node's breaker (an
OPEN breaker refuses it before anything is sent), only network errors count against the node, and
a failure becomes ``NodeUnavailable`` with ``touched`` saying whether the command may have reached
the node. A script the node does not know yet (NOSCRIPT, after a restart) is loaded and run again
through ``Node.call``; NOSCRIPT means it never ran.
"""
from __future__ import annotations

import pybreaker
import redis

from .breakers import NETWORK_ERRORS
from .nodes import Node, NodeUnavailable


def run_script_on(calls: list[tuple[Node, list, list]]) -> dict:
    """Run each node's ``store_script`` with (keys, args); return {node: reply or NodeUnavailable}."""
    return _fan_out([(node, ("EVALSHA", node.store_script.sha, len(keys), *keys, *args),
                      lambda n=node, k=keys, a=args: n.call(n.store_script, keys=k, args=a))
                     for node, keys, args in calls])


def hmget_on(nodes: list[Node], key: str, fields) -> dict:
    """HMGET ``key`` ``fields`` on every node; return {node: reply or NodeUnavailable}."""
    return _fan_out([(node, ("HMGET", key, *fields), None) for node in nodes])


class _Pending:
    """One node's call between send and reply: its breaker context and its connection."""

    def __init__(self, node: Node, fallback):
        self.node, self.fallback = node, fallback
        self.guard = node.breaker.calling()
        self.conn = None

    def fail(self, exc: BaseException):
        """Close the breaker context with ``exc`` (it counts only network errors, as in Node.call).

        Return NodeUnavailable for a network error; any other error is returned as is, and raised
        once every other node's call is finished."""
        self._drop_connection()
        try:
            self.guard.__exit__(type(exc), exc, exc.__traceback__)
        except pybreaker.CircuitBreakerError:
            pass  # the breaker tripped on this very error
        return self.node.unavailable(exc) if isinstance(exc, NETWORK_ERRORS) else exc

    def done(self, reply):
        self._release()
        self.guard.__exit__(None, None, None)
        return reply

    def _release(self):
        if self.conn is not None:
            self.node.client.connection_pool.release(self.conn)
            self.conn = None

    def _drop_connection(self):
        if self.conn is not None:
            self.conn.disconnect()  # a half-read reply must never reach the next call
            self._release()


def _fan_out(calls) -> dict:
    results, pending = {}, []
    for node, command, fallback in calls:
        p = _Pending(node, fallback)
        try:
            p.guard.__enter__()
        except pybreaker.CircuitBreakerError:
            results[node] = NodeUnavailable(node.name, "circuit breaker open", touched=False)
            continue
        try:
            node.calls.inc()
            p.conn = node.client.connection_pool.get_connection(command[0])
            p.conn.send_command(*command)
        except BaseException as exc:  # noqa: BLE001 - every error closes the breaker context
            results[node] = p.fail(exc)
            continue
        pending.append(p)
    for p in pending:
        try:
            reply = p.conn.read_response()
        except redis.exceptions.NoScriptError:
            p.done(None)  # the node answered: the network is fine
            try:
                results[p.node] = p.fallback()
            except NodeUnavailable as exc:
                results[p.node] = exc
            continue
        except BaseException as exc:  # noqa: BLE001
            results[p.node] = p.fail(exc)
            continue
        results[p.node] = p.done(reply)
    for r in results.values():
        if isinstance(r, BaseException) and not isinstance(r, NodeUnavailable):
            raise r  # not a network failure: a bug or a Redis error answer, as Node.call would raise
    return {node: results[node] for node, _command, _fallback in calls}  # in the callers' order
