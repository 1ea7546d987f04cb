"""Finding StarCraft II and its maps the way pysc2 does, and saying clearly what is missing.

pysc2 looks for the game in $SC2PATH, else in a per-platform default (pysc2 4.0.0 `run_configs/platforms.py`); without
the game its errors are a FileNotFoundError about `.../Versions` or an SC2LaunchError. `check_installation` turns
those, and a missing map file, into one `Sc2NotInstalledError` that names SC2PATH, the path looked at and how to
install the game, before any game process is started.
"""

from __future__ import annotations

import os
import platform

from arena.backends import Sc2NotInstalledError
from arena.compat.pysc2 import load_pysc2

load_pysc2()  # before any pysc2 import (protobuf and Python 3.11 fixes)
from absl import flags  # noqa: E402  (absl is a pysc2 dependency)
from pysc2 import maps, run_configs  # noqa: E402
from pysc2.lib import sc_process  # noqa: E402

INSTALL_HELP = (
    "Set SC2PATH to the folder that holds the game (the one with Versions/ and Maps/), or install it there: on Linux "
    "unzip Blizzard's headless build from https://github.com/Blizzard/s2client-proto#downloads into ~/StarCraftII "
    "(the archive password 'iagreetotheeula' accepts the AI and Machine Learning License); on Windows and macOS "
    "install StarCraft II through Battle.net and start it once. Put the maps in its Maps/ folder: the mini-games "
    "from https://github.com/deepmind/pysc2#get-the-maps, the melee maps from "
    "https://github.com/Blizzard/s2client-proto#map-packs.")


def parse_absl_flags() -> None:
    """pysc2 reads absl flags (`--sc2_run_config`, `--sc2_version`); outside an absl app they are never parsed, and
    reading them raises. Take their defaults unless a program has parsed them already."""
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def default_install_dir() -> str:
    """Where pysc2 looks for the game on this platform: $SC2PATH, else the platform's usual place (pysc2 also reads
    Battle.net's ExecuteInfo.txt on Windows and macOS)."""
    if os.environ.get("SC2PATH"):
        return os.path.expanduser(os.environ["SC2PATH"])
    return {"Windows": "C:/Program Files (x86)/StarCraft II",
            "Darwin": "/Applications/StarCraft II"}.get(platform.system(), os.path.expanduser("~/StarCraftII"))


def not_installed(path: str, reason: object) -> Sc2NotInstalledError:
    """The error for a game that pysc2 could not find or start at `path`."""
    source = "SC2PATH" if os.environ.get("SC2PATH") else "the default place, as SC2PATH is not set"
    return Sc2NotInstalledError(f"StarCraft II is not installed at {path!r} ({source}): {reason}. {INSTALL_HELP}")


def check_installation(map_name: str, version: str | None = None) -> str:
    """The game's folder, if the game and `map_name`'s map file are where pysc2 looks; else Sc2NotInstalledError."""
    parse_absl_flags()
    try:
        run_config = run_configs.get(version=version)
    except (OSError, sc_process.SC2LaunchError) as error:
        raise not_installed(default_install_dir(), error) from error
    data_dir = run_config.data_dir
    if not os.path.isdir(data_dir):
        raise not_installed(data_dir, "no such folder")
    game_map = maps.get(map_name)
    folder = os.path.join(data_dir, "Maps")
    # pysc2's RunConfig.map_data also accepts "(players)name" beside the plain file name.
    candidates = [os.path.join(folder, game_map.path),
                  os.path.join(folder, os.path.dirname(game_map.path),
                               f"({game_map.players}){os.path.basename(game_map.path)}")]
    if not any(os.path.exists(path) for path in candidates):
        raise Sc2NotInstalledError(
            f"StarCraft II is at {data_dir!r} but the map {map_name} is not: expected {candidates[0]!r}. "
            f"Download it from {game_map.download} into {folder!r}.")
    return data_dir


__all__ = ["INSTALL_HELP", "Sc2NotInstalledError", "check_installation", "default_install_dir", "not_installed",
           "parse_absl_flags"]
