"""Behaviour cloning's examples: re-simulating replays side by side gives the rows that re-simulating each replay
alone gives, in the same order."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from agents.learn.behaviour_cloning import Examples, batches_of, collect_examples
from agents.policies import make_policy
from agents.policies.base import Policy
from agents.rollout import record_games
from arena.interface.functions import FunctionId
from arena.interface.view import InterfaceFormat
from arena.multi_env import player_view
from arena.replay.format import Replay, read_header, read_replay, write_replay
from arena.replay.recorder import action_from_rows
from arena.replay.verify import environment_for


def one_at_a_time(path: Path, policy: Policy, players: tuple[int, ...]) -> list[Examples]:
    """The reference: one replay in a one-game environment, step by step (what cloning did before batching), for
    each of `players` (one re-simulation for all of them)."""
    replay = read_replay(path)
    env = environment_for(replay, path)
    two_player = getattr(env, "num_players", 1) > 1
    obs, _ = env.reset(seed=[int(replay.header["seed"])])
    encoded_rows, action_rows = {p: [] for p in players}, {p: [] for p in players}
    for step in range(len(replay.actions)):
        actions = [action_from_rows(replay.actions[step, p][None]) for p in range(replay.num_players)]
        for player in players:
            seen = player_view(obs, player) if two_player else obs
            taken = actions[player]
            if bool(seen["available_actions"][0, taken.function[0]]):
                with torch.no_grad():
                    encoded_rows[player].append(policy.encode(seen))
                action_rows[player].append({f.name: getattr(taken, f.name) for f in dataclasses.fields(taken)})
        obs, _, _, _, _ = env.step(actions if two_player else actions[0])
    return [Examples(encoded={k: torch.cat([r[k] for r in encoded_rows[p]]) for k in encoded_rows[p][0]},
                     action={k: torch.cat([r[k] for r in action_rows[p]]) for k in action_rows[p][0]})
            for p in players]


def _cut(replay: Replay, steps: int) -> Replay:
    """The replay's first `steps` steps, as if the player had stopped there, with an action MoveToBeacon never makes
    available (Train_Marine_quick) at every third step after the first: those steps cannot be imitated."""
    end = int(replay.frame_offsets[steps + 1])
    actions = replay.actions[:steps].copy()
    actions[2::3, 0, 0] = int(FunctionId.Train_Marine_quick)
    return dataclasses.replace(replay, actions=actions,
                               frames={k: v[:steps + 1] for k, v in replay.frames.items()},
                               units={k: v[:end] for k, v in replay.units.items()},
                               frame_offsets=replay.frame_offsets[:steps + 2],
                               explanations={}, outcome={**replay.outcome, "ended": "stopped", "steps": steps})


@pytest.fixture(scope="module")
def replays(tmp_path_factory) -> list[Path]:
    """Two MoveToBeacon replays cut to 20 and 8 steps and three MarineMirror games of different lengths."""
    folder = tmp_path_factory.mktemp("replays")
    beacon = record_games("MoveToBeacon", ["scripted"], folder / "full", games=2, seed=3)
    cut = [write_replay(folder / f"beacon{i}.replay.npz", _cut(read_replay(p), steps))
           for i, (p, steps) in enumerate(zip(beacon, (20, 8)))]
    mirror = record_games("MarineMirror", ["scripted", "random"], folder, games=3, seed=0)
    return [cut[0], mirror[0], cut[1], mirror[1], mirror[2]]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return make_policy("fullyconv", InterfaceFormat())


@pytest.fixture(scope="module")
def reference(replays, policy) -> dict[Path, list[Examples]]:
    """Each replay's examples of each of its players, one replay at a time."""
    return {p: one_at_a_time(p, policy, tuple(range(read_replay(p).num_players))) for p in replays}


def _assert_equal(batched: Examples, reference: list[Examples]) -> None:
    assert len(batched) == sum(len(r) for r in reference)
    for part in ("encoded", "action"):
        mine = getattr(batched, part)
        assert set(mine) == set(getattr(reference[0], part))
        for key, value in mine.items():
            assert torch.equal(value, torch.cat([getattr(r, part)[key] for r in reference])), (part, key)


@pytest.mark.parametrize("player", [0, 1])
def test_side_by_side_examples_equal_one_replay_at_a_time(replays, policy, reference, player):
    paths = [p for p in replays if player < len(reference[p])]
    lengths = {len(read_replay(p).actions) for p in paths}
    assert len(lengths) == len(paths)  # every game ends at a different step
    expected = [reference[p][player] for p in paths]
    if player == 0:  # the steps of unavailable actions are left out
        assert sum(len(e) for e in expected) < sum(lengths)
    ended = []
    batched = collect_examples(paths, policy, player, batch_games=2, on_replay=lambda p, n: ended.append((p, n)))
    _assert_equal(batched, expected)
    assert sorted(ended) == sorted(zip(paths, (len(e) for e in expected)))
    _assert_equal(collect_examples(paths, policy, player, batch_games=64), expected)


def test_batches_share_one_environment_and_stay_small(replays):
    headers = [read_header(p) for p in replays]
    batches = batches_of(replays, headers, batch_games=2)
    assert sorted(i for b in batches for i in b) == list(range(len(replays)))
    for batch in batches:
        assert len(batch) <= 2
        assert len({headers[i][0]["scenario"]["id"] for i in batch}) == 1
    assert len(batches) == 3  # MoveToBeacon: one batch of two; MarineMirror: two and one
    with pytest.raises(ValueError, match="batch_games"):
        batches_of(replays, headers, batch_games=0)
