"""How many CPU threads torch uses in this process: chosen once, deliberately, by every entry point.

torch's default is one intra-op thread per core. The engine's and the policies' tensors are small, so threads
mostly wait on each other: measured on a 2-core machine (README, "Threads"), one thread per process is fastest, and
two processes of two threads each slow each other 4-15x. So every process that runs torch (the `arena` command, the
league's and the ladder's Ray actors, benchmarks) sets its count through `set_torch_threads`, one by default. The
engine's compiled kernel (arena.sim.kernels) runs its games on as many threads as torch has.
"""

from __future__ import annotations

import torch

DEFAULT_THREADS = 1
"""Threads per process unless told otherwise (`arena ... --threads N`)."""


def set_torch_threads(threads: int = DEFAULT_THREADS) -> int:
    """Use `threads` intra-op threads in this process (and, where torch still allows it, one inter-op thread);
    returns the count now in force.

    Raises:
        ValueError: `threads` is below 1.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work of the process; later calls keep it
        pass
    return torch.get_num_threads()


__all__ = ["DEFAULT_THREADS", "set_torch_threads"]
