"""Reading and writing files that hold secrets or private keys.

A file is checked and read through one open descriptor, so a path swapped between the check and
the read (a symlink race) cannot smuggle in other content. Symlinks are followed on purpose:
orchestrators (Kubernetes secret volumes, for one) mount secrets through them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from jwtauth.errors import ConfigurationError

__all__ = ["FileProblem", "owned_by_us", "read_private_file", "write_private_file"]


@dataclass(frozen=True, slots=True)
class FileProblem:
    """Why a private file is unsafe; ``None`` from :func:`read_private_file` when it is fine."""

    message: str


def owned_by_us(st: os.stat_result) -> bool:
    """True when the running user (or root) owns the file or directory ``st`` describes."""
    return st.st_uid in (os.geteuid(), 0)


def _problem(path: Path, st: os.stat_result) -> FileProblem | None:
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        return FileProblem(
            f"{path} is accessible by group or others (mode {mode:04o}); run: chmod 600 {path}"
        )
    if not owned_by_us(st):
        return FileProblem(f"{path} is owned by another user (uid {st.st_uid})")
    return None


def read_private_file(path: Path) -> tuple[bytes, FileProblem | None]:
    """Read ``path`` and report whether other users could read or replace it.

    Raises:
        ConfigurationError: the file is missing, unreadable or not a regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigurationError(f"{path} is not a regular file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return data, _problem(path, st)


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 and write ``data``; never overwrite, never leave a part.

    Raises:
        FileExistsError: something (a file, or even a dangling symlink) is already there.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:  # owns fd from here; write() loops on partial writes
            os.fchmod(handle.fileno(), 0o600)  # the umask may only remove bits, but be explicit
            handle.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
