"""Run a native decoder in a child process, so a crash or a hang rejects one file only.

A decoder is a module-level function ``decoder(path, out_npy) -> dict``: it decodes the
file, saves the ``(n, 3)`` samples with numpy to ``out_npy`` and returns small
JSON-serialisable metadata (a decoder may also write the file incrementally, e.g.
:class:`restless.ingest.raw.gt3x_log.NpyWriter`). :func:`run_isolated` starts a fresh interpreter
(``python -m restless.ingest.raw.isolate module:function path out meta``: nothing of the
run is inherited, no threads, no re-import of the caller's ``__main__`` as
``multiprocessing``'s spawn would do), waits up to a timeout, and turns every failure into
:class:`RejectedFile` with its reason: a signal such as a segmentation fault, a non-zero
exit, a timeout (the child is killed), or the decoder's exception. The parent reads the
samples from the file in chunks, so the run never holds the whole recording; the
temporary folder is removed when the returned :class:`IsolatedSamples` is
garbage-collected (or on :meth:`IsolatedSamples.close`).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from restless.ingest.base import RejectedFile
from restless.ingest.raw._common import CHUNK_SAMPLES

Decoder = Callable[[str, str], dict[str, Any]]
DEFAULT_TIMEOUT_S = 600.0


class IsolatedSamples:
    """Decoded samples in a temporary ``.npy`` file, streamed as chunks by plain reads."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder = folder
        self.path = folder / "samples.npy"
        self.meta = meta
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        try:
            samples = np.load(self.path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            self._cleanup()
            raise RejectedFile(f"decoder wrote no readable samples: {exc}") from None
        if samples.ndim != 2 or samples.shape[1] != 3:
            self._cleanup()
            raise RejectedFile(f"decoder wrote samples of shape {samples.shape}, not (n, 3)")
        self.n_samples = int(samples.shape[0])
        del samples

    def chunks(self) -> Iterator[np.ndarray]:
        """Consecutive ``(n, 3)`` float64 chunks read from the file.

        Plain reads, not a memory map: pages of a map stay in the process's resident set
        once touched, so streaming a week through one would count the whole file.
        """
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                _, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                _, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            if fortran:  # column-major on disk: rows are not contiguous, read by map
                samples = np.load(self.path, mmap_mode="r")
                for lo in range(0, self.n_samples, CHUNK_SAMPLES):
                    yield np.asarray(samples[lo : lo + CHUNK_SAMPLES], dtype=np.float64)
                return
            for lo in range(0, self.n_samples, CHUNK_SAMPLES):
                n = min(CHUNK_SAMPLES, self.n_samples - lo)
                chunk = np.fromfile(f, dtype=dtype, count=3 * n)
                if len(chunk) != 3 * n:
                    raise RejectedFile(
                        f"decoded samples end early at sample {lo + len(chunk) // 3}"
                    )
                yield chunk.reshape(n, 3).astype(np.float64)

    def close(self) -> None:
        """Remove the temporary folder now rather than at garbage collection."""
        self._cleanup()


def _signal_reason(code: int) -> str:
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return "segmentation fault (SIGSEGV)" if name == "SIGSEGV" else f"killed by {name}"


def run_isolated(
    decoder: Decoder, path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S, what: str = "decoder"
) -> IsolatedSamples:
    """Run ``decoder(path, out_npy)`` in a child process; any failure -> RejectedFile."""
    module, name = decoder.__module__, decoder.__qualname__
    if module == "__main__" or "<" in name:
        raise ValueError(
            "an isolated decoder must be a module-level function of an importable module"
        )
    folder = Path(tempfile.mkdtemp(prefix="restless-raw-"))
    out, meta = folder / "samples.npy", folder / "meta.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    command = [sys.executable, "-m", __name__, f"{module}:{name}", str(path), str(out), str(meta)]
    try:
        try:
            child = subprocess.run(
                command, env=env, timeout=timeout_s, capture_output=True, check=False
            )
        except subprocess.TimeoutExpired:  # subprocess.run kills the child
            raise RejectedFile(f"{what} did not finish within {timeout_s:g} s (killed)") from None
        if child.returncode < 0:
            raise RejectedFile(f"{what} crashed: {_signal_reason(child.returncode)}")
        result = json.loads(meta.read_text()) if meta.exists() else None
        if child.returncode != 0 or result is None:
            tail = child.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            reason = result.get("error") if result else (tail[0] if tail else "no output")
            raise RejectedFile(f"{what} failed (exit {child.returncode}): {reason}")
        return IsolatedSamples(folder, result)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _main(argv: list[str]) -> int:
    """Child entry point: import the decoder, run it, write meta.json (or the error)."""
    target, path, out, meta = argv
    module, _, name = target.partition(":")
    try:
        decoder = getattr(importlib.import_module(module), name)
        result = decoder(path, out)
        Path(meta).write_text(json.dumps(result))
        return 0
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
        Path(meta).write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}{where}"}))
        return 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
