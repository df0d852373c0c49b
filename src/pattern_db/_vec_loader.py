"""Load sqlite-vec from a private copy, so other SQLite libraries in the process can load it too.

Why: a loadable SQLite extension keeps the API table its loader hands it in one global,
`sqlite3_api`, and calls every SQLite routine through it. SQLite opens extensions with
`dlopen(RTLD_NOW | RTLD_GLOBAL)`. When a second SQLite build in the process (pysqlite3, a stdlib
`sqlite3` that loads extensions) loads the same `vec0.so`, dlopen returns the same object and its
init overwrites that global; our connections then run on the other build's routines and crash.
A renamed copy of the file is not enough: its `sqlite3_api` is an exported symbol reached through
the GOT, so with RTLD_GLOBAL the copy loaded second binds it to the first copy's global.

Fix: on Linux, the wheel's library is copied into a sealed memfd (nothing is written to disk, and
the sealed copy cannot be altered once checked) with every defined dynamic symbol except the
`sqlite3_*_init` entry points made local. A local symbol is never looked up by other objects and
the copy's own references bind to itself, so our copy and the wheel's file each keep their own
globals in any load order. Where that cannot be done, the wheel's file is loaded as before.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import sys
import threading

import apsw

__all__ = ["ENTRY_POINT", "load_into", "localize_symbols", "private_library", "wheel_library"]

ENTRY_POINT = "sqlite3_vec_init"

_ELF_MAGIC = b"\x7fELF"
_ELFCLASS64 = 2
_SHT_DYNSYM = 11
_SHN_UNDEF = 0
_STB_LOCAL, _STB_GLOBAL, _STB_WEAK = 0, 1, 2
_SYM64_SIZE = 24

_lock = threading.Lock()
# sqlite-vec path as given -> path to load (the private copy, or the given path when none works).
_resolved: dict[str, str] = {}
# Why the private copy is not used, per given path; shown by private_library() for diagnosis.
_fallback_reason: dict[str, str] = {}
# library -> (fd, st_dev, st_ino) of its memfd. The fd stays open for the life of the process:
# its /proc path is what SQLite dlopens, again whenever the last connection using it has closed.
_memfds: dict[str, tuple[int, int, int]] = {}


def wheel_library() -> str:
    """Return the path of the sqlite-vec library in the installed wheel.

    Raises:
        ImportError: the sqlite-vec wheel is not installed.
    """
    # The package is found, not imported: its __init__ imports numpy and sqlite3 (~0.3 s at the
    # start of every command-line run) for helpers pattern-db does not use. Same path as
    # sqlite_vec.loadable_path().
    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the sqlite-vec wheel is not installed")
    return os.path.normpath(os.path.join(next(iter(spec.submodule_search_locations)), "vec0"))


def load_into(conn: apsw.Connection, library: str | None = None) -> None:
    """Load sqlite-vec into an apsw connection from pattern-db's private copy of `library`.

    `library` is the wheel's path as `sqlite_vec.loadable_path()` gives it (suffix optional),
    the installed wheel's by default.

    Raises:
        apsw.ExtensionLoadingError: the library does not load (missing or broken wheel).
        ImportError: no library was given and the sqlite-vec wheel is not installed.
    """
    library = wheel_library() if library is None else library
    path = _path_to_load(library)
    conn.enable_load_extension(True)
    try:
        try:
            conn.load_extension(path, ENTRY_POINT)
        except apsw.ExtensionLoadingError as exc:
            if path == library:
                raise
            # The private copy cannot be mapped here (e.g. memfds may not be executable):
            # fall back to the wheel's file for the rest of the process.
            with _lock:
                _resolved[library] = library
                _fallback_reason[library] = f"the private copy did not load: {exc}"
                if library in _memfds:
                    os.close(_memfds.pop(library)[0])
            conn.load_extension(library, ENTRY_POINT)
    finally:
        conn.enable_load_extension(False)


def private_library(library: str) -> tuple[str, str | None]:
    """Return the path loaded for `library` and why it is not a private copy (None when it is)."""
    path = _path_to_load(library)
    return path, _fallback_reason.get(library)


def _path_to_load(library: str) -> str:
    path = _resolved.get(library)
    if path is not None and _still_ours(library):
        return path
    with _lock:
        path = _resolved.get(library)
        if path is None or not _still_ours(library):
            # A memfd whose fd number now names something else was closed by other code: make a
            # new copy rather than let SQLite dlopen whatever that number refers to now.
            _memfds.pop(library, None)
            try:
                path = _make_private_copy(library)
            except (OSError, ValueError) as exc:
                path = library
                _fallback_reason[library] = str(exc)
            _resolved[library] = path
    return path


def _still_ours(library: str) -> bool:
    """Return False when the memfd recorded for `library` is no longer open under its fd."""
    if library not in _memfds:
        return True
    fd, dev, ino = _memfds[library]
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def _make_private_copy(library: str) -> str:
    """Return the /proc path of a sealed memfd holding `library` with its symbols made local.

    Raises:
        OSError: the library is missing, or memfds or /proc are not available.
        ValueError: the library is not a 64-bit ELF shared object with sqlite-vec's entry point.
    """
    if not sys.platform.startswith("linux"):
        raise OSError(f"no private copy on {sys.platform}: loading the wheel's file")
    source = library if os.path.isfile(library) else library + ".so"
    with open(source, "rb") as f:
        image = localize_symbols(f.read())
    fd = os.memfd_create("pattern-db-sqlite-vec", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(image)
        while view:
            view = view[os.write(fd, view) :]
        import fcntl

        fcntl.fcntl(
            fd,
            fcntl.F_ADD_SEALS,
            fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL,
        )
        path = f"/proc/self/fd/{fd}"
        # SQLite opens the copy by this path: /proc must be mounted and show this very memfd.
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            raise OSError(f"{path} is not the private copy of sqlite-vec")
    except BaseException:
        os.close(fd)
        raise
    st = os.fstat(fd)
    _memfds[library] = (fd, st.st_dev, st.st_ino)
    return path


def localize_symbols(image: bytes) -> bytes:
    """Return a copy of an ELF64 shared object whose defined dynamic symbols are all local.

    The `sqlite3_*_init` entry points stay global so SQLite can find them with dlsym.

    Raises:
        ValueError: not a 64-bit ELF shared object, or it does not define `sqlite3_vec_init`.
    """
    if image[:4] != _ELF_MAGIC or image[4] != _ELFCLASS64 or image[5] not in (1, 2):
        raise ValueError("sqlite-vec's library is not a 64-bit ELF shared object")
    order = "<" if image[5] == 1 else ">"
    out = bytearray(image)
    (shoff,) = struct.unpack_from(order + "Q", image, 0x28)
    shentsize, shnum = struct.unpack_from(order + "HH", image, 0x3A)
    entry_found = False
    for index in range(shnum):
        header = _section(image, order, shoff + index * shentsize)
        _, sh_type, _, _, offset, size, link, _, _, entsize = header
        if sh_type != _SHT_DYNSYM or entsize != _SYM64_SIZE:
            continue
        strings = _section(image, order, shoff + link * shentsize)[4]
        symbols = struct.iter_unpack(order + "IBBHQQ", image[offset : offset + size])
        for sym, (name_at, info, _, shndx, _, _) in enumerate(symbols):
            if shndx == _SHN_UNDEF or info >> 4 not in (_STB_GLOBAL, _STB_WEAK):
                continue
            name = image[strings + name_at : image.index(b"\0", strings + name_at)]
            if name.startswith(b"sqlite3_") and name.endswith(b"_init"):
                entry_found = entry_found or name == ENTRY_POINT.encode()
                continue
            out[offset + sym * entsize + 4] = (_STB_LOCAL << 4) | (info & 0xF)
    if not entry_found:
        raise ValueError(f"sqlite-vec's library has no dynamic symbol {ENTRY_POINT}")
    return bytes(out)


def _section(image: bytes, order: str, at: int) -> tuple[int, ...]:
    """Return the fields of the ELF64 section header at byte offset `at`."""
    return struct.unpack_from(order + "IIQQQQIIQQ", image, at)
