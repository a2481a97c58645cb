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

_UNITS = {"h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def _fmt(x: float) -> str:
    return f"{x:g}"


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
    """'90', '90s', '5m', '1h', '1h30m' -> seconds; raise ValueError on anything else."""
    m = _DURATION.fullmatch(str(text).strip())
    if not str(text).strip() or not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration; use e.g. 30s, 5m, 1h or 1h30m")
    return sum(float(v) * _UNITS[u] for v, u in zip(m.groups(), "hms") if v)


def duration(lo_s: float, hi_s: float):
    """A duration such as 30s, 5m, 1h30m (plain numbers are seconds) from lo_s to hi_s seconds."""
    accepted = f"from {_fmt(lo_s)} s to {_fmt(hi_s)} s, e.g. 30s, 5m, 1h"

    def parse(text: str) -> float:
        try:
            seconds = parse_duration(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{err}; give a duration {accepted}") from None
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
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder; give a folder path")
    return path
