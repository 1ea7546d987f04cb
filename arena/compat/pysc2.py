"""Import pysc2 4.0.0 on Python 3.11.

pysc2's generated protobuf modules need the pure-Python protobuf implementation with protobuf >= 4, and pysc2 calls
`random.shuffle(x, random)` with the second argument that Python 3.11 removed. Everything that imports pysc2 imports
it through `load_pysc2()` so both fixes are made once, before the first pysc2 import.
"""

from __future__ import annotations

import importlib
import os
import random
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


def load_pysc2() -> types.SimpleNamespace:
    """Import pysc2's `actions`, `features` and `units` modules, or raise ImportError saying how to install it."""
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    random.shuffle = _shuffle
    try:
        actions = importlib.import_module("pysc2.lib.actions")
        features = importlib.import_module("pysc2.lib.features")
        units = importlib.import_module("pysc2.lib.units")
    except ImportError as error:
        raise ImportError(f"pysc2 is not importable ({error}); install it with `pip install pysc2==4.0.0`") from error
    return types.SimpleNamespace(actions=actions, features=features, units=units)
