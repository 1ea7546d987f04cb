"""A saved policy: `<path>.safetensors` (the weights) and `<path>.json` (its kind, config and format version), written
whole or not at all and read without unpickling anything (DESIGN.md, "Durable things").

    save_policy(policy, "runs/beacon/policy")
    policy = load_policy("runs/beacon/policy.json")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from agents.policies.base import Policy
from agents.policies.registry import POLICY_KINDS
from arena.files import atomic_path, write_text_atomic

FORMAT_NAME = "arena-policy"
FORMAT_VERSION = 1
"""The version of the JSON description; files from a later version are refused."""
WEIGHTS_SUFFIX = ".safetensors"
DESCRIPTION_SUFFIX = ".json"
FOLDER_STEM = "policy"
"""Saving to (or loading from) a folder uses <folder>/policy.safetensors and <folder>/policy.json."""
METADATA_KEY = "arena-policy"
"""The safetensors metadata entry holding the JSON description, so a weights file and a description from different
saves are caught."""


class PolicyFileError(ValueError):
    """A policy file that cannot be loaded: it names the file and what is wrong."""

    def __init__(self, path: str | os.PathLike, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


def policy_files(path: str | os.PathLike) -> tuple[Path, Path]:
    """(weights, description) paths of a policy saved at `path`: a folder (its policy.* files), or a path without
    suffix (a ".safetensors" or ".json" suffix is taken off)."""
    path = Path(path)
    if path.is_dir():
        path = path / FOLDER_STEM
    elif path.suffix in (WEIGHTS_SUFFIX, DESCRIPTION_SUFFIX):
        path = path.with_suffix("")
    return path.with_name(path.name + WEIGHTS_SUFFIX), path.with_name(path.name + DESCRIPTION_SUFFIX)


def describe(policy: Policy) -> dict[str, Any]:
    """The JSON description of a policy: format, version, kind, config and parameter count."""
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": policy.kind,
            "config": policy.config.to_dict(), "parameters": sum(p.numel() for p in policy.parameters())}


def save_policy(policy: Policy, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write `<path>.safetensors` (the weights) and `<path>.json` (kind, config, format version); `path` is a path
    without suffix or a folder (policy_files). Each file is written to a temporary name and renamed into place, the
    description last, so a crash never leaves a half-written file. Returns (weights, description) paths."""
    weights, description = policy_files(path)
    text = json.dumps(describe(policy), indent=2, sort_keys=True)
    tensors = {key: value.detach().cpu().contiguous() for key, value in policy.state_dict().items()}
    with atomic_path(weights) as partial:
        save_file(tensors, str(partial), metadata={METADATA_KEY: text})
    write_text_atomic(description, text + "\n")
    return weights, description


def _read_description(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no policy description there (save_policy writes <name>.json beside "
                                f"<name>.safetensors)")
    try:
        description = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PolicyFileError(path, f"not a JSON policy description ({error})") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT_NAME:
        raise PolicyFileError(path, f"not an {FORMAT_NAME} description (no \"format\": \"{FORMAT_NAME}\")")
    version = description.get("version")
    if not isinstance(version, int) or version < 1:
        raise PolicyFileError(path, f"invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise PolicyFileError(path, f"format version {version} is newer than this code reads ({FORMAT_VERSION}); "
                                    "update sc2-arena")
    return description


def _read_weights(path: Path, description: dict[str, Any]) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no policy weights there (the description beside it names a "
                                f"{description.get('kind')} policy)")
    try:
        with safe_open(str(path), framework="pt") as weights:
            metadata = weights.metadata() or {}
            tensors = {key: weights.get_tensor(key) for key in weights.keys()}
    except (SafetensorError, OSError, ValueError) as error:
        raise PolicyFileError(path, f"not a readable safetensors file ({error})") from None
    saved = metadata.get(METADATA_KEY)
    if saved is not None:
        try:
            saved_description = json.loads(saved)
        except json.JSONDecodeError:
            raise PolicyFileError(path, "its metadata holds no valid policy description") from None
        mine = (saved_description.get("kind"), saved_description.get("config"))
        if mine != (description.get("kind"), description.get("config")):
            raise PolicyFileError(path, "these weights were saved with another kind or config than the description "
                                        "beside them says (files from different saves?)")
    return tensors


def load_policy(path: str | os.PathLike, device: torch.device | str = "cpu") -> Policy:
    """The policy saved at `path` (policy_files), on `device`. Reads JSON and safetensors only, never pickle.

    Raises:
        FileNotFoundError: the description or the weights file is missing (the message names it).
        PolicyFileError: a file is corrupted, of an unknown kind, from a later format version, or the weights do not
            fit the config (the message names the file and the problem).
    """
    weights_path, description_path = policy_files(path)
    description = _read_description(description_path)
    kind = description.get("kind")
    if kind not in POLICY_KINDS:
        raise PolicyFileError(description_path, f"unknown policy kind {kind!r}; known: {', '.join(POLICY_KINDS)}")
    policy_class = POLICY_KINDS[kind]
    try:
        config = policy_class.config_type.from_dict(description.get("config") or {})
    except ValueError as error:
        raise PolicyFileError(description_path, str(error)) from None
    policy = policy_class(config)
    tensors = _read_weights(weights_path, description)
    _check_fits(policy, tensors, weights_path)
    policy.load_state_dict(tensors)
    return policy.to(device)


def _check_fits(policy: Policy, tensors: dict[str, torch.Tensor], path: Path) -> None:
    expected = policy.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    wrong = sorted(key for key in set(expected) & set(tensors) if expected[key].shape != tensors[key].shape)
    if missing or extra or wrong:
        details = [f"missing {missing[:5]}" if missing else "", f"unexpected {extra[:5]}" if extra else "",
                   "wrong shapes " + ", ".join(f"{k} {tuple(tensors[k].shape)} (config: {tuple(expected[k].shape)})"
                                               for k in wrong[:5]) if wrong else ""]
        raise PolicyFileError(path, f"the weights do not fit the {policy.kind} config: "
                                    + "; ".join(d for d in details if d))


__all__ = ["DESCRIPTION_SUFFIX", "FORMAT_NAME", "FORMAT_VERSION", "PolicyFileError", "WEIGHTS_SUFFIX", "describe",
           "load_policy", "policy_files", "save_policy"]
