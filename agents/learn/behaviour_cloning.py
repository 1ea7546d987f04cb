"""Behaviour cloning from replays (AlphaStar's supervised stage): re-simulate each recorded game to get what the
imitated player saw at every step, and teach a policy the action it took there (maximum likelihood of the recorded
function and of the arguments that function uses)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable

import torch

from agents.policies import make_policy
from agents.policies.base import Policy
from arena.interface.view import InterfaceFormat
from arena.multi_env import player_view
from arena.replay.format import Replay, read_replay
from arena.replay.recorder import action_from_rows
from arena.replay.verify import environment_for


@dataclasses.dataclass(frozen=True)
class CloningConfig:
    policy: str = "fullyconv"
    player: int = 0
    """The seat to imitate (0: player 1)."""
    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 3e-4
    max_grad_norm: float = 1.0
    seed: int = 0
    device: str = "cpu"


@dataclasses.dataclass
class Examples:
    """What the imitated player saw (the policy's encoding) and did, one row per step: [N, ...]."""

    encoded: dict[str, torch.Tensor]
    action: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.action["function"])


def interface_of(replay: Replay) -> InterfaceFormat:
    return InterfaceFormat(**replay.header["interface"])


def replay_examples(replay: Replay, path: str | Path, policy: Policy, player: int,
                    device: torch.device | str = "cpu") -> Examples:
    """Re-simulate `replay` and collect (encoded observation, recorded action) of `player` at every step where the
    action it took was available to it (an unavailable one cannot be imitated: the policy gives it probability 0)."""
    env = environment_for(replay, path, device)
    two_player = getattr(env, "num_players", 1) > 1
    if player >= replay.num_players:
        raise ValueError(f"{path}: player {player + 1} asked for, the replay has {replay.num_players}")
    obs, _ = env.reset(seed=[int(replay.header["seed"])])
    encoded_rows, action_rows = [], []
    for step in range(len(replay.actions)):
        actions = [action_from_rows(replay.actions[step, p][None], env.device) for p in range(replay.num_players)]
        seen = player_view(obs, player) if two_player else obs
        taken = actions[player]
        if bool(seen["available_actions"][0, taken.function[0]]):
            with torch.no_grad():
                encoded_rows.append(policy.encode(seen))
            action_rows.append({f.name: getattr(taken, f.name) for f in dataclasses.fields(taken)})
        obs, _, _, _, _ = env.step(actions if two_player else actions[0])
    if not encoded_rows:
        return Examples(encoded={}, action={"function": torch.zeros(0, dtype=torch.long)})
    return Examples(encoded={k: torch.cat([r[k] for r in encoded_rows]) for k in encoded_rows[0]},
                    action={k: torch.cat([r[k] for r in action_rows]) for k in action_rows[0]})


def _concat(parts: list[Examples]) -> Examples:
    parts = [p for p in parts if len(p)]
    if not parts:
        raise ValueError("the replays hold no step where the imitated player took an available action")
    return Examples(encoded={k: torch.cat([p.encoded[k] for p in parts]) for k in parts[0].encoded},
                    action={k: torch.cat([p.action[k] for p in parts]) for k in parts[0].action})


def collect_examples(paths: Iterable[Path], policy: Policy, player: int, device: torch.device | str = "cpu",
                     on_replay: Callable[[Path, int], None] | None = None) -> Examples:
    """Examples from every replay; `on_replay(path, examples)` after each (for a progress bar)."""
    parts = []
    for path in paths:
        replay = read_replay(path)
        if interface_of(replay) != policy_interface(policy):
            raise ValueError(f"{path}: recorded with {interface_of(replay)}, the policy reads {policy_interface(policy)}"
                             "; clone replays of one interface at a time")
        part = replay_examples(replay, path, policy, player, device)
        parts.append(part)
        if on_replay is not None:
            on_replay(path, len(part))
    return _concat(parts)


def policy_interface(policy: Policy) -> InterfaceFormat:
    return InterfaceFormat(screen_size=policy.config.screen_size, minimap_size=policy.config.minimap_size)


def new_policy_for(paths: list[Path], config: CloningConfig) -> Policy:
    """A fresh policy of `config.policy` for the interface the first replay was recorded with."""
    first = read_replay(paths[0])
    interface = interface_of(first)
    return make_policy(config.policy, interface).to(config.device)


@dataclasses.dataclass(frozen=True)
class EpochStats:
    epoch: int
    loss: float
    function_accuracy: float
    """How often the policy's most probable function is the recorded one."""


def clone(policy: Policy, examples: Examples, config: CloningConfig,
          on_epoch: Callable[[EpochStats], None] | None = None) -> list[EpochStats]:
    """Maximise the log-likelihood of the recorded actions; returns each epoch's mean loss and accuracy."""
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    history = []
    N = len(examples)
    for epoch in range(config.epochs):
        order = torch.randperm(N, generator=generator)
        total, correct, batches = 0.0, 0, 0
        for start in range(0, N, config.batch_size):
            index = order[start:start + config.batch_size].to(config.device)
            encoded = {k: v[index] for k, v in examples.encoded.items()}
            action = {k: v[index] for k, v in examples.action.items()}
            distribution = policy(encoded).distribution
            loss = -distribution.log_prob(action).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                correct += int((distribution.mode()["function"] == action["function"]).sum())
            total += float(loss.detach())
            batches += 1
        stats = EpochStats(epoch=epoch + 1, loss=total / batches, function_accuracy=correct / N)
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    return history


__all__ = ["CloningConfig", "EpochStats", "Examples", "clone", "collect_examples", "new_policy_for",
           "replay_examples"]
