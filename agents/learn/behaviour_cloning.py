"""Behaviour cloning from replays (AlphaStar's supervised stage): re-simulate the recorded games to get what the
imitated player saw at every step, and teach a policy the action it took there (maximum likelihood of the recorded
function and of the arguments that function uses).

Replays that one environment can play again (same scenario and version, step_mul, interface and limits) are
re-simulated side by side, up to `batch_games` games in one batched environment."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch

from agents.learn.config import entity_options
from agents.learn.learner import common_shape, pad_to
from agents.policies import make_policy
from agents.policies.action_space import action_space
from agents.policies.base import Policy
from arena.interface.functions import FunctionId
from arena.interface.view import InterfaceFormat
from arena.multi_env import player_view
from arena.replay.format import ACTION_FIELDS, Replay, ReplayError, read_header, read_replay
from arena.replay.recorder import action_from_rows
from arena.replay.verify import environment_for
from arena.scenarios.registry import make_scenario


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
    batch_games: int = 64
    """Replays re-simulated side by side in one environment (bounds the memory of collecting examples)."""
    action_space: str = "full"
    """The cloned policy's action space (agents.policies.action_space): steps whose action lies outside it are
    left out, and its fixed arguments replace the recorded ones. Clone with the action space the RL run will use,
    so `--init` and `--kl-to` find the same architecture."""
    see_time: bool = True
    """The cloned policy reads the fraction of the episode left (as `arena train` policies do by default)."""
    relative_positions: bool = False
    """Entity policies: each unit also reads its offset from the selection and the player's other units."""
    selection_summary: bool = False
    """Entity policies: the core also reads the mean of the selected units' embeddings."""


@dataclasses.dataclass
class Examples:
    """What the imitated player saw (the policy's encoding) and did, one row per step: [N, ...]."""

    encoded: dict[str, torch.Tensor]
    action: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.action["function"])


def interface_of(replay: Replay) -> InterfaceFormat:
    return InterfaceFormat(**replay.header["interface"])


def environment_key(header: dict[str, Any]) -> str:
    """What the environment that re-simulates a replay depends on (arena.replay.verify.environment_for): replays
    with the same key can be played again side by side in one batched environment."""
    return json.dumps([header["scenario"], header["step_mul"], header["interface"], header.get("limits")],
                      sort_keys=True)


def _recorded_actions(replays: list[Replay]) -> np.ndarray:
    """Every game's recorded action rows [T, B, P, len(ACTION_FIELDS)], T the longest game; no_op after a game's
    end."""
    T = max(len(r.actions) for r in replays)
    rows = np.zeros((T, len(replays), replays[0].num_players, len(ACTION_FIELDS)), dtype=np.int16)
    rows[..., 0] = int(FunctionId.no_op)
    for b, replay in enumerate(replays):
        rows[:len(replay.actions), b] = replay.actions
    return rows


def games_examples(replays: list[Replay], paths: list[Path], policy: Policy, player: int,
                   device: torch.device | str = "cpu", on_replay: Callable[[Path, int], None] | None = None
                   ) -> tuple[Examples, torch.Tensor]:
    """Re-simulate `replays` (one environment key) side by side and collect (encoded observation, recorded action)
    of `player` at every step where the action it took was available to it (an unavailable one cannot be imitated:
    the policy gives it probability 0). Returns the examples, game by game and each game's steps in order, and
    how many rows each game gave [B]; `on_replay(path, examples)` as each game's recording ends."""
    for replay, path in zip(replays, paths):
        if player >= replay.num_players:
            raise ValueError(f"{path}: player {player + 1} asked for, the replay has {replay.num_players}")
    env = environment_for(replays[0], paths[0], device, num_envs=len(replays))
    two_player = getattr(env, "num_players", 1) > 1
    lengths = np.array([len(r.actions) for r in replays])
    rows = _recorded_actions(replays)
    playing = torch.as_tensor(lengths, device=env.device)
    counts = torch.zeros(len(replays), dtype=torch.long, device=env.device)
    parts, games, ranks = [], [], []  # each step's rows, their games and their places in their games
    obs, _ = env.reset(seed=[int(r.header["seed"]) for r in replays])
    for step in range(len(rows)):
        actions = [action_from_rows(rows[step, :, p], env.device) for p in range(rows.shape[2])]
        seen = player_view(obs, player) if two_player else obs
        taken = actions[player]
        available = policy.encode_available(seen).gather(
            1, taken.function[:, None].to(policy.allowed_functions.device))[:, 0].to(env.device)  # within its space
        keep = (available & (step < playing)).nonzero()[:, 0]
        if len(keep):
            with torch.no_grad():
                encoded = policy.encode(seen)
            parts.append(Examples(encoded={k: v[keep.to(v.device)] for k, v in encoded.items()},
                                  action={f.name: getattr(taken, f.name)[keep] for f in dataclasses.fields(taken)}))
            games.append(keep)
            ranks.append(counts[keep])
            counts[keep] += 1
        _report_ended(lengths == step + 1, paths, counts, on_replay)
        if step + 1 < len(rows):
            obs, _, _, _, _ = env.step(actions if two_player else actions[0])
    _report_ended(lengths == 0, paths, counts, on_replay)
    env.close()
    starts = counts.cumsum(0) - counts
    return _placed(parts, [starts[g] + r for g, r in zip(games, ranks)], int(counts.sum())), counts.cpu()


def _placed(parts: list[Examples], places: list[torch.Tensor], rows: int) -> Examples:
    """`rows` examples where each part's rows go to its `places` [len(part)] (one copy, no concatenation first)."""
    parts, places = [p for p in parts if len(p)], [w for p, w in zip(parts, places) if len(p)]
    if not parts:
        return Examples(encoded={}, action={"function": torch.zeros(0, dtype=torch.long)})
    out = {}
    for side in ("encoded", "action"):
        out[side] = {}
        for key, first in getattr(parts[0], side).items():
            # unit lists differ in width from part to part: zero-padded (masked)
            shape = common_shape(getattr(part, side)[key].shape[1:] for part in parts)
            column = first.new_zeros((rows, *shape))
            for part, place in zip(parts, places):
                values = getattr(part, side)[key]
                column[place.to(column.device)] = pad_to(values, (len(values), *shape))
            out[side][key] = column
    return Examples(**out)


def _report_ended(ended: np.ndarray, paths: list[Path], counts: torch.Tensor,
                  on_replay: Callable[[Path, int], None] | None) -> None:
    if on_replay is not None:
        for game in np.nonzero(ended)[0]:
            on_replay(paths[game], int(counts[game]))


def batches_of(paths: list[Path], headers: list[tuple[dict, dict]], batch_games: int) -> list[list[int]]:
    """Indexes into `paths` of the replays to re-simulate together: one environment key each, at most
    `batch_games`, games of similar length together (the batch runs as long as its longest game)."""
    if batch_games < 1:
        raise ValueError(f"batch_games must be at least 1, got {batch_games}")
    groups: dict[str, list[int]] = {}
    for i, (header, _) in enumerate(headers):
        groups.setdefault(environment_key(header), []).append(i)
    batches = []
    for members in groups.values():
        members = sorted(members, key=lambda i: int(headers[i][1].get("steps", 0)))
        batches += [members[start:start + batch_games] for start in range(0, len(members), batch_games)]
    return batches


def collect_examples(paths: Iterable[Path], policy: Policy, player: int, device: torch.device | str = "cpu",
                     on_replay: Callable[[Path, int], None] | None = None, batch_games: int = 64) -> Examples:
    """Examples from every replay, re-simulated up to `batch_games` at a time; the rows are in the order of
    `paths`, each replay's steps in order (as if each replay were re-simulated alone). `on_replay(path, examples)`
    as each replay's game ends (for a progress bar)."""
    paths = [Path(p) for p in paths]
    headers = [read_header(path) for path in paths]
    for path, (header, _) in zip(paths, headers):
        interface = InterfaceFormat(**header["interface"])
        if interface != policy_interface(policy):
            raise ValueError(f"{path}: recorded with {interface}, the policy reads {policy_interface(policy)}"
                             "; clone replays of one interface at a time")
    batches, parts = batches_of(paths, headers, batch_games), []
    counts = torch.zeros(len(paths), dtype=torch.long)
    for batch in batches:
        batch_paths = [paths[i] for i in batch]
        part, counts[batch] = games_examples([read_replay(p) for p in batch_paths], batch_paths, policy, player,
                                             device, on_replay)
        parts.append(part)
    if not int(counts.sum()):
        raise ValueError("the replays hold no step where the imitated player took an available action")
    starts = counts.cumsum(0) - counts
    places = []
    for batch in batches:  # each part is game by game: its games' rows go to their replays' places, in order
        n = counts[batch]
        places.append(torch.repeat_interleave(starts[batch], n) + torch.arange(int(n.sum()))
                      - torch.repeat_interleave(n.cumsum(0) - n, n))
    return _placed(parts, places, int(counts.sum()))


def policy_interface(policy: Policy) -> InterfaceFormat:
    return InterfaceFormat(screen_size=policy.config.screen_size, minimap_size=policy.config.minimap_size)


def new_policy_for(paths: list[Path], config: CloningConfig) -> Policy:
    """A fresh policy of `config.policy` for the interface the first replay was recorded with."""
    first = read_replay(paths[0])
    interface = interface_of(first)
    scenario_id = first.header["scenario"]["id"]
    try:
        spec = make_scenario(scenario_id).spec
    except KeyError:
        raise ReplayError(paths[0], f"the scenario {scenario_id} is not known to this arena") from None
    options = entity_options(config.relative_positions, config.selection_summary)
    return make_policy(config.policy, interface, **action_space(config.action_space).policy_options(),
                       time_limit_loops=spec.time_limit_loops if config.see_time else None, **options
                       ).to(config.device)


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
            for name, value in policy.config.fixed_arguments:  # not the policy's choice: the recorded value is moot
                action[name] = torch.full_like(action[name], value)
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


__all__ = ["CloningConfig", "EpochStats", "Examples", "batches_of", "clone",
           "collect_examples", "environment_key", "games_examples", "new_policy_for"]
