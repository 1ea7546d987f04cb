"""Import pysc2 4.0.0 on Python 3.11.

pysc2's generated protobuf modules need the pure-Python protobuf implementation with protobuf >= 4, and pysc2 calls
`random.shuffle(x, random)` with the second argument that Python 3.11 removed. Everything that imports pysc2 imports
it through `load_pysc2()` so both fixes are made once, before the first pysc2 import.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
import types

_original_shuffle = random.shuffle


def _shuffle(x: list, random_fn=None) -> None:
    """random.shuffle that still accepts the `random` argument removed in Python 3.11 (Fisher-Yates with it)."""
    if random_fn is None:
        _original_shuffle(x)
        return
    for i in reversed(range(1, len(x))):
        j = int(random_fn() * (i + 1))
        x[i], x[j] = x[j], x[i]


def protobuf_implementation() -> str | None:
    """The implementation ("python", "upb", "cpp") protobuf has chosen already, or None if it has not chosen yet (it
    chooses, once, when its message machinery is first imported)."""
    chosen = sys.modules.get("google.protobuf.internal.api_implementation")
    return None if chosen is None else chosen.Type()


def load_pysc2() -> types.SimpleNamespace:
    """Import pysc2's `actions`, `features` and `units` modules, or raise ImportError saying how to install it (or,
    when protobuf was imported before with its compiled implementation, which pysc2's modules cannot use, how to
    start Python so that it is not)."""
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    implementation = protobuf_implementation()
    if implementation not in (None, "python") and "pysc2.lib.actions" not in sys.modules:
        raise ImportError(f"pysc2 needs protobuf's pure-Python implementation, but protobuf was already imported (by "
                          f"another library, such as ray) with its {implementation!r} implementation; start Python "
                          "with PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python in the environment, or load pysc2 first")
    random.shuffle = _shuffle
    try:
        actions = importlib.import_module("pysc2.lib.actions")
        features = importlib.import_module("pysc2.lib.features")
        units = importlib.import_module("pysc2.lib.units")
    except ImportError as error:
        raise ImportError(f"pysc2 is not importable ({error}); install it with `pip install pysc2==4.0.0`") from error
    return types.SimpleNamespace(actions=actions, features=features, units=units)
