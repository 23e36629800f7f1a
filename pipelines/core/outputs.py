"""A command's outputs written as a set: checked before the work, staged beside ``--out``, swapped in.

Every command that writes an output directory or file does::

    with staged_output(out_dir, inputs=files) as stage:   # --out checked here, before any work
        result = do_the_work()
        atomic_write_parquet(result.kept, stage / "kept.parquet")
        ...
    # here --out holds exactly the new set

How the set is swapped in (staging + rename; no manifest to check):

- the files are written into a hidden staging directory ``.<name>.staging-<pid>`` beside ``--out``
  (same filesystem, so the swap is a rename);
- a directory output is exchanged with the old ``--out`` in one ``renameat2(RENAME_EXCHANGE)``
  call, so ``--out`` is never missing nor mixed; entries of the old ``--out`` that are not part of
  the new set (an LLM cache, your own notes) are moved into the new set first. Where the exchange
  is not supported, two renames are used and a run that dies between them is repaired by the next
  run into the same ``--out`` (the old set is put back);
- a file output is one ``os.replace``.

A run killed at any point leaves the previous set in ``--out`` whole, and no temporary file in it;
what a killed run leaves beside it (its hidden staging directory) is removed by the next run into
the same ``--out`` (so two runs into the same ``--out`` at once are not supported).
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

STAGING = ".staging-"
OLD = ".old-"
KILL_ENV = "FOUNDRY_TEST_KILL_AT"  # test hook: SIGKILL this process at a named point (see kill_point)


class OutputPathError(ValueError):
    """``--out`` cannot be written: under a file, not writable, or the same path as an input."""


def kill_point(name: str) -> None:
    """Die at once (SIGKILL, no cleanup) when the test hook names this point; a no-op otherwise."""
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def check_output_path(out: str | Path, *, kind: str = "dir", inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse an ``--out`` that cannot work, before any work starts; returns it made absolute.

    ``kind`` is ``dir`` (the command writes a directory) or ``file``.
    """
    out = Path(os.path.abspath(out))
    for parent in reversed(out.parents):
        if parent.exists() and not parent.is_dir():
            raise OutputPathError(f"--out {out}: {parent} is a file, not a directory; choose an --out outside it")
    if kind == "dir" and out.exists() and not out.is_dir():
        raise OutputPathError(f"--out {out} is a file; give a directory (new or from an earlier run)")
    if kind == "file" and out.is_dir():
        raise OutputPathError(f"--out {out} is a directory; give a file path")
    if kind == "dir":
        cwd = Path.cwd().resolve()
        if out.resolve() == cwd or out.resolve() in cwd.parents:
            raise OutputPathError(f"--out {out} is the current directory or above it; the set is swapped in "
                                  f"as a whole, so give a dedicated output directory (e.g. {out}/run)")
    target = out.resolve()
    for path in inputs:
        p = Path(path).resolve()
        if p == target:
            raise OutputPathError(f"--out {out} is also an input file; write to another path")
    existing = next(p for p in [out.parent, *out.parent.parents] if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"--out {out}: cannot write in {existing} (permission denied); choose a writable --out")
    return out


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _sweep(out: Path) -> None:
    """Undo what a killed run into ``out`` left: put an old set back if ``out`` went missing, drop stages."""
    siblings = sorted(out.parent.glob(f".{out.name}{OLD}*")) if out.parent.is_dir() else []
    if not out.exists() and siblings:
        os.replace(siblings[-1], out)
        siblings = siblings[:-1]
    for p in siblings + sorted(out.parent.glob(f".{out.name}{STAGING}*")):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _publishable(stage: Path) -> None:
    os.chmod(stage, 0o755)  # mkdtemp makes the directory private; outputs are read by others
    for p in stage.rglob("*"):
        if not p.is_symlink():
            os.chmod(p, 0o755 if p.is_dir() else 0o644)


def swap_in_dir(stage: Path, out: Path, *, keep_others: bool = True) -> None:
    """Put the finished directory ``stage`` at ``out`` in one atomic exchange; the old copy is removed.

    ``keep_others``: entries of the old ``out`` that ``stage`` lacks move into the new one first
    (caches, notes); a release, which must hold exactly its manifest's files, passes False.
    """
    if not out.exists():
        _publishable(stage)
        os.replace(stage, out)
        return
    names = {p.name for p in stage.iterdir()}
    for entry in sorted(out.iterdir()) if keep_others else []:  # keep what is not part of the set
        if entry.name not in names and not entry.name.startswith("."):
            os.replace(entry, stage / entry.name)
    _publishable(stage)
    if _exchange(stage, out):
        kill_point("after_swap")
        shutil.rmtree(stage, ignore_errors=True)  # now holds the old set
        return
    old = out.with_name(f".{out.name}{OLD}{os.getpid()}")
    os.replace(out, old)
    kill_point("between_renames")
    os.replace(stage, out)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_output(out: str | Path, *, kind: str = "dir", inputs: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Check ``out``, yield a staging path, and swap it into ``out`` when the block ends without error.

    ``kind="dir"``: yields the staging directory; write the set's files into it.
    ``kind="file"``: yields the staging file path (same name as ``out``); write that one file.
    On an exception the staging area is removed and ``out`` is left as it was.
    """
    out = check_output_path(out, kind=kind, inputs=inputs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _sweep(out)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGING}{os.getpid()}-", dir=out.parent))
    except OSError as exc:
        raise OutputPathError(f"--out {out}: cannot write there ({exc.strerror or exc}); choose a writable --out") from exc
    try:
        if kind == "dir":
            yield stage
            kill_point("before_swap")
            swap_in_dir(stage, out)
        else:
            yield stage / out.name
            kill_point("before_swap")
            staged = stage / out.name
            if not staged.exists():
                raise RuntimeError(f"nothing was written to {staged}")
            os.chmod(staged, 0o644)
            os.replace(staged, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
