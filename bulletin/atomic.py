"""Whole file or nothing: every single-file output goes through here, the folder swap
and lock the publisher uses, and the checksummed entries the caches keep."""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bulletin.errors import BulletinError


def write_text_atomic(path: Path, text: str) -> None:
    """Writes `text` beside `path` and renames it over, so that a failure part-way never
    leaves half a file, and a reader never sees one. Raises OSError like `open`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; outputs are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- cache entries ------------------------------------------------------------------------

def entry_text(header: Mapping[str, Any], body: Any) -> str:
    """A cache entry: `header` with the checksum of the body on the first line, then `body`
    as JSON (whose floats read back exactly). `entry_body` reads it back."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return json.dumps({**header, "sha256": digest}) + "\n" + text


def entry_body(raw: str, header: Mapping[str, Any]) -> Any:
    """The body of an entry `entry_text` made with `header`. ValueError if its header is
    another (another format, kind or key) or its body does not match its checksum."""
    head, _, text = raw.partition("\n")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if json.loads(head) != {**header, "sha256": digest}:
        raise ValueError("header does not match its body or key")
    return json.loads(text)


# -- folders ---------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM}


def exchange(a: Path, b: Path) -> bool:
    """Swaps two existing paths in one step, so that neither name is ever missing.

    Linux's renameat2(RENAME_EXCHANGE), called through the C library. Returns False
    where the system or the file system cannot (the caller then falls back to two
    renames); raises OSError for any other failure.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint)
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                 _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), str(b))


_HELD: set[str] = set()  # lock files this process holds: taking one again is a no-op


@contextmanager
def exclusive(lock_file: Path, what: str) -> Iterator[None]:
    """Holds an exclusive lock on `lock_file` (created if need be) for the block, or
    stops at once with a message if another process holds it.

    The lock is the kernel's (flock), so it is released when the holder exits however it
    exits, even when killed; the file itself stays, holding the last holder's process id
    for the message. Raises OSError if the lock file cannot be made.
    """
    key = os.path.realpath(lock_file)
    if key in _HELD:  # this process holds it already (a build locks before it publishes)
        yield
        return
    try:
        import fcntl
    except ImportError:  # no flock on this system: run unlocked
        yield
        return
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise BulletinError(
                f"{what} is being written by another run (process {holder}, lock file "
                f"{lock_file}); wait for it to finish, then run again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
    finally:
        os.close(fd)
