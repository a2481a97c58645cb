"""Typed command-line arguments with ranges, shared by every caplab CLI.

Each factory returns an argparse ``type=`` callable. A value out of its range, NaN, infinity or
text that is not a number raises ArgumentTypeError, so argparse prints one usage line naming the
flag, the value and the accepted range, and exits 2: never a traceback further in.
"""
from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_NUM = r"(\d{1,9}(?:\.\d{1,9})?)"
_DURATION = re.compile(rf"(?:{_NUM}d)?(?:{_NUM}h)?(?:{_NUM}m)?(?:{_NUM}s?)?")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def number(lo: float, hi: float, integer: bool = False, unit: str = ""):
    """A number in [lo, hi] (an integer when `integer`); NaN and infinities are refused."""
    kind = "a whole number" if integer else "a number"
    accepted = f"{kind} from {_fmt(lo)} to {_fmt(hi)}{(' ' + unit) if unit else ''}"

    def parse(text: str):
        try:
            value = int(text, 10) if integer else float(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}; give {accepted}") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} is out of range; give {accepted}")
        return value
    parse.__name__ = "integer" if integer else "number"  # argparse names the type in some messages
    return parse


def fraction(text: str) -> float:
    """A fraction in [0, 1]: 0.001 is 0.1%."""
    try:
        return number(0, 1)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction from 0 to 1 (0.001 = 0.1%; "
                                         f"5 would be 500%)") from None


def parse_duration(text: str) -> float:
    """'90', '90s', '5m', '1h', '1h30m', '2d' -> seconds; raise ValueError on anything else."""
    m = _DURATION.fullmatch(str(text).strip())
    if not str(text).strip() or not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration; use e.g. 30s, 5m, 1h or 1h30m")
    return sum(float(v) * _UNITS[u] for v, u in zip(m.groups(), "dhms") if v)


def human(seconds: float) -> str:
    """Seconds in the largest whole unit: 86400 -> '1d', 90 -> '90s'."""
    for unit, size in _UNITS.items():
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def duration(lo_s: float, hi_s: float):
    """A duration such as 30s, 5m, 1h30m (plain numbers are seconds) from lo_s to hi_s seconds."""
    accepted = f"from {human(lo_s)} to {human(hi_s)}, e.g. 30s, 5m, 1h30m"

    def parse(text: str) -> float:
        try:
            seconds = parse_duration(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a duration; give one {accepted}") from None
        if not lo_s <= seconds <= hi_s:
            raise argparse.ArgumentTypeError(f"{text} is out of range; give a duration {accepted}")
        return seconds
    parse.__name__ = "duration"
    return parse


def port(text: str) -> int:
    """A TCP port from 1 to 65535."""
    return number(1, 65535, integer=True, unit="(a TCP port)")(text)


def port_offset(text: str) -> int:
    """A shift added to every stack port: the shifted ports must stay below 65536."""
    return number(0, 50000, integer=True, unit="(multiples of 1000 keep the ports readable)")(text)


def folder(text: str) -> Path:
    """A folder path: refused when something that is not a folder is in the way."""
    if not str(text).strip() or "\0" in str(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder path")
    path = Path(text)
    for part in (path, *path.parents):  # the folder, or the nearest part of its path that exists
        try:
            if not part.exists():
                continue
        except OSError as err:  # a name too long for the file system
            raise argparse.ArgumentTypeError(f"{text[:80]!r} is not a usable folder path ({err.strerror})") from None
        if not part.is_dir():
            raise argparse.ArgumentTypeError(f"{part} exists and is not a folder; give a folder path")
        break
    return path


def url(text: str) -> str:
    """An http(s) base URL with a host, e.g. http://127.0.0.1:5001; a trailing / is dropped."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(str(text).strip())
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL ({err}); give e.g. http://127.0.0.1:5001") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) base URL; give e.g. http://127.0.0.1:5001")
    return str(text).strip().rstrip("/")


def file_path(text: str) -> Path:
    """A file to write: refused when it is a folder or its folder does not exist."""
    path = Path(text)
    if not str(text).strip() or path.is_dir() or not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file path in an existing folder")
    return path


def integer_list(lo: int, hi: int):
    """Comma-separated whole numbers, each from lo to hi, e.g. 16,64."""
    one = number(lo, hi, integer=True)

    def parse(text: str) -> list[int]:
        items = [x.strip() for x in str(text).split(",")]
        if not all(items):
            raise argparse.ArgumentTypeError(f"{text!r}: give comma-separated whole numbers, e.g. 16,64")
        return [one(x) for x in items]
    parse.__name__ = "list"
    return parse
