"""Durable file writes: copy with a checksum, fsync, publish without ever overwriting, clean up on failure.

A file is first written to a hidden temp file next to its destination (``.<name>.<random>.tmp``),
fsynced, then published with ``os.link``, which fails instead of replacing an existing file. A
full disk raises DiskFull and removes the temp file, so earlier backups are never touched.
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
from pathlib import Path

from .errors import BackupError, DiskFull

CHUNK = 1 << 20


def sha256_file(path) -> tuple[int, str]:
    """Return (size, sha256 hex) of a file."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def temp_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.{secrets.token_hex(4)}.tmp"


def _write_all(fd: int, data: bytes, write) -> None:
    view = memoryview(data)
    while view:
        n = write(fd, view)
        view = view[n:]


def _fail(exc: OSError, tmp: Path, dest: Path):
    tmp.unlink(missing_ok=True)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise DiskFull(f"disk full while writing {dest}: {exc.strerror}. The partial file was removed "
                       f"and earlier backups are intact; free space in {dest.parent} or use another "
                       f"folder (--root).") from None
    raise BackupError(f"cannot write {dest}: {exc}. Check the folder's permissions and space.") from None


def stage_copy(src, dest: Path, write=os.write) -> tuple[Path, int, str]:
    """Copy ``src`` to a temp file beside ``dest``; return (temp path, size, sha256). Not yet published."""
    dest = Path(dest)
    tmp = temp_path(dest)
    h, size = hashlib.sha256(), 0
    try:
        with open(src, "rb") as f:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                while chunk := f.read(CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                    _write_all(fd, chunk, write)
                os.fsync(fd)
            finally:
                os.close(fd)
    except FileNotFoundError as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"cannot read {exc.filename}: it does not exist") from None
    except OSError as exc:
        _fail(exc, tmp, dest)
    return tmp, size, h.hexdigest()


def stage_text(text: str, dest: Path, write=os.write) -> Path:
    """Write ``text`` to a temp file beside ``dest`` and fsync it; return the temp path."""
    dest = Path(dest)
    tmp = temp_path(dest)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, text.encode(), write)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _fail(exc, tmp, dest)
    return tmp


def publish(tmp: Path, dest: Path) -> None:
    """Give the temp file its final name; raise FileExistsError (temp kept) rather than replace a file."""
    os.link(tmp, dest)
    tmp.unlink()
    fsync_dir(dest.parent)


def link_or_copy(src: Path, dest: Path) -> None:
    """Make ``dest`` the same file as ``src`` (a hard link, so no space is used), or a copy."""
    try:
        os.link(src, dest)
    except OSError:
        tmp, _size, _sha = stage_copy(src, dest)
        publish(tmp, dest)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
