"""Names that become file names, and writing stored files under a chosen directory only.

An artifact's name is the file or folder name ``load_model`` writes a file/directory model
under, and a directory model's manifest names its files by relative path. Both are checked
when they are recorded, and again when a model is written out: a store is shared data, and
whoever can write to it could have put any row there.

A backslash is an ordinary character in a POSIX file name (``storable_path`` writes the
bytes of a file name that is not UTF-8 as ``\\xNN``), but a separator on Windows; it is
accepted only where no piece between backslashes could climb out (``..``), stand for the
directory itself (``.``), be empty or name a drive.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from pathlib import Path

from .errors import IntegrityError, InvalidInput

#: the longest file name most file systems take, in bytes
NAME_MAX_BYTES = 255
_DRIVE = re.compile(r"^[A-Za-z]:")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be one file name inside a directory, or None when it can."""
    if not isinstance(name, str) or not name:
        return "it is empty"
    if "/" in name:
        return "it contains '/'"
    # (lone surrogates are allowed: they are the bytes of a non-UTF-8 POSIX file name)
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "it contains a control character"
    if _DRIVE.match(name):
        return "it starts with a drive letter"
    if any(piece in ("", ".", "..") for piece in name.split("\\")):
        return "it is (or holds, between backslashes) '', '.' or '..'"
    if len(name.encode("utf-8", "surrogatepass")) > NAME_MAX_BYTES:
        return f"it is longer than {NAME_MAX_BYTES} bytes"
    return None


def check_artifact_name(name: str) -> str:
    """``name`` when it can name an artifact (one safe file name); InvalidInput otherwise."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidInput(
            f"{name!r} is not an artifact name: {problem}; use a single file name "
            "(no '/', '.', '..', control characters or drive letter)."
        )
    return name


def member_parts(relative: object) -> tuple[str, ...] | None:
    """The pieces of a manifest's relative file path (``a/b.bin`` -> ``("a", "b.bin")``),
    or None when it is not a plain relative path of safe names."""
    if not isinstance(relative, str):
        return None
    parts = tuple(relative.split("/"))
    if any(name_problem(part) is not None for part in parts):
        return None
    return parts


def write_inside(base: Path, parts: tuple[str, ...], data: bytes) -> Path:
    """Write ``data`` to ``base/parts[0]/…/parts[-1]`` and nowhere else.

    Every piece was checked with :func:`name_problem`. Directories on the way are created
    or must be real directories (a symbolic link there is refused, not followed); the file
    is written under a temporary name and renamed over the last piece, so an existing
    link or hard link there is replaced, never written through. Raises IntegrityError.
    """
    if any(name_problem(part) is not None for part in parts) or not parts:
        raise IntegrityError(f"{'/'.join(parts)!r} is not a path inside the model.")
    if os.open not in os.supports_dir_fd or os.replace not in os.supports_dir_fd:
        return _write_inside_by_path(base, parts, data)
    folder = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            folder = _enter(folder, part)
        _write_and_rename(folder, parts[-1], data)
    finally:
        os.close(folder)
    return base.joinpath(*parts)


def make_directory_inside(base: Path, parts: tuple[str, ...]) -> Path:
    """Create ``base/parts[0]/…`` as real directories (links refused, as in
    :func:`write_inside`) and return its path."""
    if not parts or any(name_problem(part) is not None for part in parts):
        raise IntegrityError(f"{'/'.join(parts)!r} is not a path inside the model.")
    if os.open not in os.supports_dir_fd:
        return _directories_by_path(base, parts)
    folder = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    for part in parts:
        folder = _enter(folder, part)
    os.close(folder)
    return base.joinpath(*parts)


def _enter(folder: int, name: str) -> int:
    """The descriptor of directory ``name`` in ``folder`` (created if missing); closes
    ``folder``. A link or a file there raises IntegrityError."""
    try:
        try:
            os.mkdir(name, 0o777, dir_fd=folder)
        except FileExistsError:
            pass
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
    except OSError as exc:
        raise IntegrityError(
            f"Cannot write into {name!r}: it is a link or not a directory ({exc.strerror})."
        ) from None
    finally:
        os.close(folder)


def _write_and_rename(folder: int, name: str, data: bytes) -> None:
    temporary = _temporary_name()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    handle = os.open(temporary, flags, 0o666, dir_fd=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder)
        except OSError:
            pass
        raise


def _temporary_name() -> str:
    return f".mm-{os.getpid()}-{secrets.token_hex(6)}.partial"


def _directories_by_path(base: Path, parts: tuple[str, ...]) -> Path:
    """``base/parts…`` as real directories on platforms without ``dir_fd`` (Windows): each
    one is checked not to be a link before it is entered."""
    target = base
    for part in parts:
        target = target / part
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            raise IntegrityError(f"Cannot write into {part!r}: it is a link or not a directory.")
        target.mkdir(exist_ok=True)
    return target


def _write_inside_by_path(base: Path, parts: tuple[str, ...], data: bytes) -> Path:
    folder = _directories_by_path(base, parts[:-1])
    temporary = folder / _temporary_name()
    temporary.write_bytes(data)
    os.replace(temporary, folder / parts[-1])
    return folder / parts[-1]
