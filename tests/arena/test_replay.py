"""Replays: the file format round trip, recording from the batched path, verification by re-simulation, sampling,
explanations, and clear errors for broken files."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import arena
from agents.base import BatchedAgent
from agents.registry import make_agent
from agents.rollout import play_matches, record_games
from arena.interface.actions import BatchedAction
from arena.replay.format import (ACTION_FIELDS, FORMAT_VERSION, FRAME_COLUMNS, POSITION_SCALE, SUFFIX, UNIT_COLUMNS,
                                 ReplayError, read_header, read_replay, replay_members, replay_to_json, write_replay)
from arena.replay.recorder import ReplayRecorder, ReplaySampling
from arena.replay.verify import verify_replay
from league.cli import main


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, Path]:
    """A one-player mini-game (3 games at once) and a two-player game under the limits, recorded once."""
    folder = tmp_path_factory.mktemp("replays")
    beacon = record_games("MoveToBeacon", ["scripted"], folder / "beacon", games=3, seed=11)
    mirror = record_games("MarineMirror", ["scripted", "random"], folder / "mirror", games=2, seed=3)
    return {"beacon": beacon[1], "beacon_all": beacon, "mirror": mirror[0], "folder": folder}


def test_a_replay_holds_the_header_actions_frames_and_outcome(recorded):
    replay = read_replay(recorded["beacon"])
    header = replay.header
    assert header["format_version"] == FORMAT_VERSION
    assert header["scenario"] == {"id": "MoveToBeacon-v1", "name": "MoveToBeacon", "version": 1}
    assert header["seed"] == 12  # the second game of the batch seeded 11
    assert header["players"] == [{"player": 0, "name": "scripted"}]
    assert replay.outcome["steps"] == 240 and replay.outcome["ended"] == "truncated"
    assert replay.num_frames == 241 and replay.actions.shape == (240, 1, len(ACTION_FIELDS))
    assert replay.frames["game_loop"][0] == 0 and replay.frames["game_loop"][-1] == 1920
    # The score at the end is the outcome, and rewards add up to it.
    assert replay.outcome["result"] == [float(replay.frames["score"][-1, 0])]
    assert replay.frames["reward"][:, 0].sum() == pytest.approx(replay.outcome["result"][0])
    # The marine and the beacon are in every frame.
    types = {header["unit_types"][str(t)]["name"] for t in replay.units["type"]}
    assert types == {"Marine", "Beacon"}
    assert np.all(np.diff(replay.frame_offsets) == 2)


def test_a_120_s_mini_game_is_well_under_200_kb(recorded):
    for path in recorded["beacon_all"]:
        assert path.stat().st_size < 200_000


def test_the_file_reads_with_numpy_and_json_alone(recorded):
    with np.load(recorded["mirror"], allow_pickle=False) as archive:
        header = json.loads(archive["header.json"])
        slots = archive["unit_slot"]
        offsets = archive["frame_offsets"]
    assert header["scenario"]["name"] == "MarineMirror"
    assert offsets[-1] == len(slots)


def test_write_then_read_gives_the_same_replay(recorded, tmp_path):
    replay = read_replay(recorded["mirror"])
    copy = read_replay(write_replay(tmp_path / f"copy{SUFFIX}", replay))
    assert copy.header == replay.header and copy.outcome == replay.outcome
    assert np.array_equal(copy.actions, replay.actions)
    for name in UNIT_COLUMNS:
        assert np.array_equal(copy.units[name], replay.units[name])
    for name in FRAME_COLUMNS:
        assert np.array_equal(copy.frames[name], replay.frames[name])


def test_a_two_player_replay_has_both_players_actions_limits_and_visibility(recorded):
    replay = read_replay(recorded["mirror"])
    assert replay.num_players == 2
    assert replay.header["limits"] == {"apm_caps": [[22, 112]], "delay_loops": 2, "fog": True}
    assert set(replay.outcome["result"]) <= {-1, 0, 1} and sum(replay.outcome["result"]) == 0
    assert (replay.actions[:, :, 0] != 0).any(axis=0).all()  # both players acted
    owner, visible = replay.units["owner"], replay.units["visible"]
    own_seen = ((visible >> owner) & 1)[owner < 2]
    assert own_seen.all()  # a player always sees its own units
    assert not ((visible & 1)[owner == 1]).all()  # under fog, player 1 did not always see player 2's marines


def test_verify_re_simulates_every_frame(recorded):
    for key in ("beacon", "mirror"):
        result = verify_replay(recorded[key])
        assert result.ok, result.difference
        assert result.matched == result.frames == read_replay(recorded[key]).num_frames


def test_verify_finds_a_changed_action(recorded, tmp_path):
    replay = read_replay(recorded["mirror"])
    actions = replay.actions.copy()
    moved = np.nonzero(actions[:, 0, 0] != 0)[0][0]  # player 1's first real action becomes a no-op
    actions[moved, 0] = 0
    tampered = write_replay(tmp_path / f"tampered{SUFFIX}", dataclasses.replace(replay, actions=actions))
    result = verify_replay(tampered)
    assert not result.ok
    assert result.matched > moved  # the frames before the change still match
    assert "frame" in result.difference


def test_verify_finds_a_changed_frame(recorded, tmp_path):
    replay = read_replay(recorded["mirror"])
    units = dict(replay.units)
    x = units["x"].copy()
    row = int(replay.frame_offsets[10])
    x[row] += int(POSITION_SCALE)  # a unit one map unit off in frame 10
    units["x"] = x
    tampered = write_replay(tmp_path / f"moved{SUFFIX}", dataclasses.replace(replay, units=units))
    result = verify_replay(tampered)
    assert not result.ok and result.matched == 10
    assert "x recorded" in result.difference


def test_truncated_corrupted_foreign_and_future_files_give_clear_errors(recorded, tmp_path):
    data = recorded["mirror"].read_bytes()
    truncated = tmp_path / f"truncated{SUFFIX}"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReplayError, match="truncated"):
        read_replay(truncated)

    corrupted = tmp_path / f"corrupted{SUFFIX}"
    members = replay_members(read_replay(recorded["mirror"]))
    with zipfile.ZipFile(corrupted, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in members.items():
            archive.writestr(name, value)
    raw = bytearray(corrupted.read_bytes())
    where = raw.find(b"unit_x.npy")
    raw[where + 200] ^= 0xFF  # a flipped byte inside a stored array
    corrupted.write_bytes(bytes(raw))
    with pytest.raises(ReplayError, match="corrupted"):
        read_replay(corrupted)

    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello")
    with pytest.raises(ReplayError, match="notes.txt"):
        read_replay(foreign)

    future = tmp_path / f"future{SUFFIX}"
    replay = read_replay(recorded["mirror"])
    write_replay(future, dataclasses.replace(replay, header={**replay.header, "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(ReplayError, match="newer than this arena reads"):
        read_replay(future)
    with pytest.raises(ReplayError, match="newer"):
        read_header(future)

    with pytest.raises(ReplayError, match="no such file"):
        read_replay(tmp_path / "missing.replay.npz")


def test_replays_are_never_overwritten(tmp_path):
    first = record_games("MarineMirror", ["scripted", "scripted"], tmp_path, games=1, seed=0)
    second = record_games("MarineMirror", ["scripted", "scripted"], tmp_path, games=1, seed=0)
    assert first[0] != second[0] and first[0].exists() and second[0].exists()


def test_sampling_keeps_every_nth_or_decisive_games():
    every_third = ReplaySampling(every=3)
    assert [every_third.keeps(i, [1, -1], True) for i in range(6)] == [True, False, False, True, False, False]
    decisive = ReplaySampling(decisive_only=True)
    assert decisive.keeps(0, [1, -1], True) and not decisive.keeps(0, [0, 0], True)
    assert decisive.keeps(0, [0.0], False)  # one-player games have no draw
    with pytest.raises(ValueError, match="every must be at least 1"):
        ReplaySampling(every=0)


def test_the_recorder_keeps_the_sampled_games_of_a_batch(tmp_path):
    env = arena.make("MarineMirror", num_envs=4)
    recorder = ReplayRecorder(tmp_path, ["scripted", "random"], sampling=ReplaySampling(every=2))
    agents = [make_agent("scripted", "MarineMirror", seed=0), make_agent("random", "MarineMirror", seed=1)]
    play_matches(env, agents, seed=20, recorder=recorder)
    assert recorder.games_ended == 4 and len(recorder.saved) == 2


class _ExplainingAgent(BatchedAgent):
    """A scripted MarineMirror player that also says what a policy would: a value and its top actions."""

    def __init__(self) -> None:
        self.inner = make_agent("scripted", "MarineMirror")
        self.last_explanation: dict[str, torch.Tensor] | None = None

    def reset(self, num_envs: int) -> None:
        self.inner.reset(num_envs)

    def act(self, obs, first) -> BatchedAction:
        action = self.inner.act(obs, first)
        B = action.function.shape[0]
        self.last_explanation = {"value": obs["game_loop"].float() / 1000.0,
                                 "top_functions": torch.stack([action.function, torch.zeros_like(action.function)], 1),
                                 "top_probs": torch.tensor([[0.9, 0.1]]).expand(B, 2),
                                 "heatmap": torch.zeros(B, 8, 8, dtype=torch.uint8)}
        return action


def test_explanations_of_a_neural_player_are_stored_per_frame(tmp_path):
    env = arena.make("MarineMirror", num_envs=2)
    recorder = ReplayRecorder(tmp_path, ["explaining", "scripted"])
    play_matches(env, [_ExplainingAgent(), make_agent("scripted", "MarineMirror")], seed=0, recorder=recorder)
    replay = read_replay(recorder.saved[0])
    assert set(replay.explanations) == {"value", "top_functions", "top_probs", "heatmap"}
    assert np.isnan(replay.explanations["value"][:, 1]).all()  # the scripted player explains nothing
    assert (replay.explanations["top_functions"][:, 1] == -1).all()
    value = replay.explanations["value"][:, 0]
    assert value.shape == (replay.num_frames,)
    assert np.allclose(value[:-1], replay.frames["game_loop"][:-1] / 1000.0)
    assert np.isnan(value[-1])  # no decision at the last frame
    assert np.array_equal(replay.explanations["top_functions"][:-1, 0, 0], replay.actions[:, 0, 0])
    assert replay.explanations["heatmap"].shape == (replay.num_frames, 2, 8, 8)
    as_json = replay_to_json(replay)
    assert as_json["explanations"]["value"][-1] == [None, None]
    assert verify_replay(recorder.saved[0]).ok


def test_arena_play_records_and_replay_info_and_verify_read_them(tmp_path, capsys):
    folder = tmp_path / "out"
    assert main(["play", "MarineMirror", "--agents", "scripted", "scripted", "--episodes", "3", "--quiet",
                 "--replay-dir", str(folder), "--replay-every", "2"]) == 0
    files = sorted(folder.glob(f"*{SUFFIX}"))
    assert len(files) == 2  # games 1 and 3
    capsys.readouterr()
    assert main(["replay", "info", str(files[0])]) == 0
    out = capsys.readouterr().out
    assert "MarineMirror-v1" in out and "scripted, scripted" in out and "fog of war on" in out
    assert main(["replay", "verify", str(folder), "--quiet"]) == 0
    assert capsys.readouterr().out.count(": ok,") == 2
    broken = folder / f"broken{SUFFIX}"
    broken.write_bytes(files[0].read_bytes()[:100])
    assert main(["replay", "verify", str(folder), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert f"{broken}" in captured.err and "truncated" in captured.err
    assert captured.out.count(": ok,") == 2  # the other replays are still checked


def test_arena_play_refuses_a_replay_dir_that_is_a_file(tmp_path, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    assert main(["play", "MoveToBeacon", "--episodes", "1", "--quiet", "--replay-dir", str(a_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert main(["play", "MoveToBeacon", "--episodes", "1", "--quiet", "--replay-dir", str(tmp_path),
                 "--replay-every", "0"]) == 2
    assert "--replay-every must be at least 1" in capsys.readouterr().err
