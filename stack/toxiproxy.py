"""A small, strict client for Toxiproxy's HTTP API (server 2.x, port 8474 by default).

Every call is bounded in time and raises `ToxiproxyError` on any failure: a fault call that hangs
or fails quietly would make an experiment lie about what it injected. Calls that inject a fault
read the server's state back and raise unless it matches. See docs/toxiproxy.md.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import requests

DEFAULT_URL = "http://127.0.0.1:8474"
DEFAULT_TIMEOUT_SEC = 2.0
STREAMS = ("upstream", "downstream")
TOXIC_TYPES = ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data")
START_HINT = (
    "start it with '.tools/bin/toxiproxy-server -host 127.0.0.1 -port 8474' "
    "(install it with 'scripts/setup.sh toxiproxy')"
)


class ToxiproxyError(Exception):
    """A Toxiproxy call failed, timed out, or the server's state did not match what was asked."""

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None,
                 server_message: str | None = None):
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.server_message = server_message


@dataclass(frozen=True)
class Toxic:
    """One toxic as the server reports it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Toxic":
        return cls(name=data["name"], type=data["type"], stream=data["stream"],
                   toxicity=float(data["toxicity"]), attributes=dict(data.get("attributes") or {}))


@dataclass(frozen=True)
class Proxy:
    """One proxy as the server reports it."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Proxy":
        return cls(name=data["name"], listen=data["listen"], upstream=data["upstream"],
                   enabled=bool(data["enabled"]),
                   toxics=tuple(Toxic.from_json(t) for t in data.get("toxics") or ()))


class Toxiproxy:
    """Talk to one Toxiproxy server; each instance holds its own address and HTTP session."""

    def __init__(self, url: str = DEFAULT_URL, *, connect_timeout: float = DEFAULT_TIMEOUT_SEC,
                 read_timeout: float = DEFAULT_TIMEOUT_SEC, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        if session is None:
            session = requests.Session()
            # The control API is local; an HTTP proxy from the environment must never sit between.
            session.trust_env = False
        self._session = session
        # Faults may run in a background thread (a flapping link); one call at a time keeps the
        # shared session simple, and every call is bounded, so nobody waits long.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Toxiproxy({self.url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "Toxiproxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------
    def version(self) -> str:
        data = self._call("GET", "/version")
        return data["version"] if isinstance(data, dict) else str(data).strip()

    def proxies(self) -> dict[str, Proxy]:
        return {name: Proxy.from_json(p) for name, p in self._call("GET", "/proxies").items()}

    def get_proxy(self, name: str) -> Proxy:
        return Proxy.from_json(self._call("GET", f"/proxies/{name}"))

    def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_json(t) for t in self._call("GET", f"/proxies/{proxy}/toxics")]

    def get_toxic(self, proxy: str, name: str) -> Toxic:
        return Toxic.from_json(self._call("GET", f"/proxies/{proxy}/toxics/{name}"))

    # -- proxies -------------------------------------------------------------------------------
    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return Proxy.from_json(self._call("POST", "/proxies", body))

    def ensure_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        """Create the proxy, or update it to match; raise unless the server then reports a match.

        A listen address ending in ':0' (any free port) matches whatever port the server chose.
        """
        try:
            current = self.get_proxy(name)
        except ToxiproxyError as err:
            if err.status != 404:
                raise
            try:
                current = self.create_proxy(name, listen, upstream, enabled)
            except ToxiproxyError as err2:  # created meanwhile by someone else: update it below
                if err2.status != 409:
                    raise
                current = self.get_proxy(name)
        if not _proxy_matches(current, listen, upstream, enabled):
            body: dict[str, Any] = {"upstream": upstream, "enabled": enabled}
            if not listen.endswith(":0"):
                body["listen"] = listen
            self._call("POST", f"/proxies/{name}", body)
            current = self.get_proxy(name)
            if not _proxy_matches(current, listen, upstream, enabled):
                raise ToxiproxyError(
                    f"proxy {name!r} did not take the update: wanted listen={listen} "
                    f"upstream={upstream} enabled={enabled}, server reports listen={current.listen} "
                    f"upstream={current.upstream} enabled={current.enabled}",
                    method="POST", path=f"/proxies/{name}")
        return current

    def populate(self, proxies: list[dict[str, Any]]) -> list[Proxy]:
        """Create or replace many proxies at once (each dict: name, listen, upstream[, enabled])."""
        data = self._call("POST", "/populate", list(proxies))
        return [Proxy.from_json(p) for p in data.get("proxies") or ()]

    def set_enabled(self, name: str, enabled: bool) -> Proxy:
        """Enable or disable a proxy ("down" refuses connections); confirm the server agrees."""
        self._call("POST", f"/proxies/{name}", {"enabled": bool(enabled)})
        proxy = self.get_proxy(name)
        if proxy.enabled != bool(enabled):
            raise ToxiproxyError(f"proxy {name!r} reports enabled={proxy.enabled} after setting "
                                 f"enabled={bool(enabled)}", method="POST", path=f"/proxies/{name}")
        return proxy

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")

    # -- toxics --------------------------------------------------------------------------------
    def add_toxic(self, proxy: str, type: str, attributes: dict[str, Any] | None = None,
                  stream: str = "downstream", toxicity: float = 1.0, name: str | None = None) -> str:
        """Add a toxic, confirm the server reports it as asked, and return its name."""
        _check_toxic_args(stream, toxicity)
        body: dict[str, Any] = {"type": type, "stream": stream, "toxicity": float(toxicity),
                                "attributes": dict(attributes or {})}
        if name:
            body["name"] = name
        path = f"/proxies/{proxy}/toxics"
        created = Toxic.from_json(self._call("POST", path, body))
        try:
            self._confirm_toxic(proxy, created.name, body, "POST", path)
        except ToxiproxyError:
            # Not what was asked (e.g. a misspelt attribute the server ignored): take it back.
            try:
                self.remove_toxic(proxy, created.name)
            except ToxiproxyError as err:
                if err.status != 404:
                    raise
            raise
        return created.name

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, Any] | None = None,
                     toxicity: float | None = None) -> Toxic:
        """Change a toxic's attributes and/or toxicity in place; confirm the server agrees."""
        body: dict[str, Any] = {}
        if attributes is not None:
            body["attributes"] = dict(attributes)
        if toxicity is not None:
            _check_toxic_args(None, toxicity)
            body["toxicity"] = float(toxicity)
        path = f"/proxies/{proxy}/toxics/{name}"
        self._call("POST", path, body)
        return self._confirm_toxic(proxy, name, body, "POST", path)

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    # -- plumbing ------------------------------------------------------------------------------
    def _confirm_toxic(self, proxy: str, name: str, wanted: dict[str, Any], method: str,
                       path: str) -> Toxic:
        toxic = self.get_toxic(proxy, name)
        mismatches = [f"{key}={toxic.attributes.get(key)!r} (wanted {value!r})"
                      for key, value in (wanted.get("attributes") or {}).items()
                      if toxic.attributes.get(key) != value]
        for key in ("type", "stream"):
            if key in wanted and getattr(toxic, key) != wanted[key]:
                mismatches.append(f"{key}={getattr(toxic, key)!r} (wanted {wanted[key]!r})")
        if "toxicity" in wanted and abs(toxic.toxicity - wanted["toxicity"]) > 1e-9:
            mismatches.append(f"toxicity={toxic.toxicity} (wanted {wanted['toxicity']})")
        if mismatches:
            raise ToxiproxyError(f"toxic {name!r} on proxy {proxy!r} does not match what was asked: "
                                 + ", ".join(mismatches), method=method, path=path)
        return toxic

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        url = self.url + path
        try:
            with self._lock:
                resp = self._session.request(method, url, json=body, timeout=self.timeout)
        except requests.ConnectionError as err:
            if isinstance(err, requests.ConnectTimeout) or "refused" not in str(err).lower():
                raise ToxiproxyError(
                    f"{method} {path}: could not reach the Toxiproxy server at {self.url} "
                    f"({type(err).__name__}: {err}); is it running? {START_HINT}",
                    method=method, path=path) from err
            raise ToxiproxyError(
                f"{method} {path}: the Toxiproxy server is not running at {self.url} "
                f"(connection refused); {START_HINT}", method=method, path=path) from err
        except requests.Timeout as err:
            raise ToxiproxyError(
                f"{method} {path}: the Toxiproxy server at {self.url} did not answer within "
                f"{self.timeout[1]} s; check that it is not overloaded or stopped",
                method=method, path=path) from err
        except requests.RequestException as err:
            raise ToxiproxyError(f"{method} {path}: request to {self.url} failed: {err}",
                                 method=method, path=path) from err
        if not 200 <= resp.status_code < 300:
            server_message = _server_message(resp)
            raise ToxiproxyError(
                f"{method} {path}: Toxiproxy answered {resp.status_code}: {server_message}",
                method=method, path=path, status=resp.status_code, server_message=server_message)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError as err:
            raise ToxiproxyError(f"{method} {path}: Toxiproxy answered {resp.status_code} with a "
                                 f"body that is not JSON: {resp.text[:200]!r}",
                                 method=method, path=path, status=resp.status_code) from err


def _server_message(resp: requests.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text.strip()[:500] or resp.reason
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return str(data)[:500]


def _proxy_matches(proxy: Proxy, listen: str, upstream: str, enabled: bool) -> bool:
    listen_ok = listen.endswith(":0") or proxy.listen == listen
    return listen_ok and proxy.upstream == upstream and proxy.enabled == enabled


def _check_toxic_args(stream: str | None, toxicity: float) -> None:
    # The toxic type is left to the server ("invalid toxic type"), so its list stays authoritative.
    if stream is not None and stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")
    if not 0.0 <= float(toxicity) <= 1.0:
        raise ValueError(f"toxicity must be between 0.0 and 1.0, got {toxicity!r}")
