"""Rendering replays to clips: a synthetic replay drawn to a GIF shows each unit in its owner's colour where it
stands, fog hides what the watching player did not see, and bad inputs fail with clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from arena.replay import render
from arena.replay.format import (ACTION_FIELDS, FORMAT_NAME, FORMAT_VERSION, FRAME_COLUMNS, HP_SCALE,
                                 POSITION_SCALE, UNIT_COLUMNS, Replay, ReplayError, write_replay)

SIZE = 320  # 32 map units -> 10 pixels per map unit
MAP = 32
MARINE, ZERGLING, MINERAL, DEPOT = 48, 105, 34, 19

# slot, type, owner, x, y, hp, visible bits (bit 0: player 1 saw it, bit 1: player 2)
UNITS = [
    (0, MARINE, 0, 8.0, 16.0, 45.0, 0b11),  # player 1, attacking player 2's marine
    (1, MARINE, 1, 14.0, 16.0, 20.0, 0b11),  # player 2, damaged, within player 1's sight
    (2, MINERAL, 2, 16.0, 28.0, 1500.0, 0b11),  # neutral mineral field
    (3, ZERGLING, 1, 28.0, 4.0, 35.0, 0b10),  # player 2, far away: player 1 never saw it
    (4, DEPOT, 0, 4.0, 4.0, 400.0, 0b11),  # player 1's structure
]
FRAMES = 4


def synthetic_replay() -> Replay:
    header = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "scenario": {"id": "test_skirmish", "name": "Test skirmish", "version": 1},
        "players": [{"name": "blue bot", "player": 1}, {"name": "red bot", "player": 2}],
        "map": {"width": MAP, "height": MAP, "playable": [0, 0, MAP, MAP]},
        "unit_types": {
            str(MARINE): {"name": "Marine", "radius": 0.375, "sight": 9, "max_hp": 45, "max_shields": 0,
                          "structure": False},
            str(ZERGLING): {"name": "Zergling", "radius": 0.375, "sight": 8, "max_hp": 35, "max_shields": 0,
                            "structure": False},
            str(MINERAL): {"name": "MineralField", "radius": 1.0, "sight": 0, "max_hp": 0, "max_shields": 0,
                           "structure": True},
            str(DEPOT): {"name": "SupplyDepot", "radius": 1.0, "sight": 9, "max_hp": 400, "max_shields": 0,
                         "structure": True},
        },
        "step_mul": 8, "game_loops_per_second": 22.4, "limits": {"fog": True},
    }
    rows = {name: [] for name in UNIT_COLUMNS}
    for _ in range(FRAMES):
        for slot, kind, owner, x, y, hp, visible in UNITS:
            attacking = slot == 0
            values = {"slot": slot, "type": kind, "owner": owner, "x": x * POSITION_SCALE, "y": y * POSITION_SCALE,
                      "hp": hp * HP_SCALE, "shields": 0, "order": 3 if attacking else 0,
                      "target": 1 if attacking else -1, "order_x": 0, "order_y": 0, "build": 255,
                      "selected": 1 if attacking else 0, "visible": visible}
            for name in UNIT_COLUMNS:
                rows[name].append(values[name])
    units = {name: np.array(column, dtype=UNIT_COLUMNS[name]) for name, column in rows.items()}
    frames = {name: np.zeros((FRAMES, 2), dtype=dtype) for name, dtype in FRAME_COLUMNS.items()}
    frames["game_loop"] = np.arange(FRAMES, dtype=np.int32) * 8 * 100  # 0:00, 0:35, 1:11, 1:47
    frames["camera"] = np.zeros((FRAMES, 2, 2), dtype=np.float32)
    frames["supply"] = np.zeros((FRAMES, 2, 2), dtype=np.float32)
    frames["score"] = np.stack([np.arange(FRAMES) * 10, np.arange(FRAMES) * 5], axis=1).astype(np.float32)
    return Replay(header=header, outcome={"result": [1, -1], "steps": FRAMES - 1, "game_loops": 2400,
                                                      "ended": "terminated"},
                  actions=np.zeros((FRAMES - 1, 2, len(ACTION_FIELDS)), dtype=np.int16), frames=frames,
                  units=units, frame_offsets=np.arange(FRAMES + 1, dtype=np.int32) * len(UNITS))


@pytest.fixture
def replay_path(tmp_path: Path) -> Path:
    return write_replay(tmp_path / "game.replay.npz", synthetic_replay())


def gif_frames(path: Path) -> list[Image.Image]:
    with Image.open(path) as clip:
        return [frame.convert("RGB") for frame in ImageSequence.Iterator(clip)]


def pixel_at(frame: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    """The colour at map position (x, y) of a SIZE-pixel render of the synthetic replay."""
    view = render.map_view(synthetic_replay().header, SIZE)
    px, py = view.pixels(np.float64(x), np.float64(y))
    return frame.getpixel((int(px), int(py)))


def close_to(color: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(color, expected))


def test_gif_has_every_frame_at_the_asked_size_with_units_in_owner_colours(replay_path, tmp_path):
    progress = []
    result = render.render_replay(replay_path, tmp_path / "clip.gif", size=SIZE,
                                  on_frame=lambda done, total: progress.append((done, total)))
    assert result.output == tmp_path / "clip.gif" and result.frames == FRAMES
    assert result.bytes == result.output.stat().st_size > 0
    assert progress == [(done, FRAMES) for done in range(1, FRAMES + 1)]
    assert not list(tmp_path.glob("*.part"))
    frames = gif_frames(result.output)
    view = render.map_view(synthetic_replay().header, SIZE)
    assert len(frames) == FRAMES
    assert frames[0].size == view.image_size == (SIZE, SIZE + view.header_px)
    style = render.STYLE
    for frame in (frames[0], frames[-1]):
        assert close_to(pixel_at(frame, 8.0, 16.0), style.players[0])
        assert close_to(pixel_at(frame, 14.0, 16.0), style.players[1])
        assert close_to(pixel_at(frame, 28.0, 4.0), style.players[1])
        assert close_to(pixel_at(frame, 16.3, 27.7), style.mineral)
        assert close_to(pixel_at(frame, 4.7, 3.3), style.players[0])  # the depot's square reaches its corner
    # The attack line runs from the blue marine to the red one, in blue.
    assert close_to(pixel_at(frames[0], 11.0, 16.0), style.players[0])
    # Empty ground is ground.
    assert close_to(pixel_at(frames[0], 20.0, 10.0), style.background)
    # The outcome's strip shades the top of the map on the last frame only.
    banner = tuple(round(b * 0.25 + h * 0.75) for b, h in zip(style.background, style.header))
    assert close_to(pixel_at(frames[0], 1.0, 30.8), style.background)
    assert close_to(pixel_at(frames[-1], 1.0, 30.8), banner, tolerance=6)
    with Image.open(result.output) as clip:
        assert clip.info.get("loop") == 0 and clip.info.get("duration") == 120
    durations = render.gif_durations(80, 8)  # 8 fps on GIF's 10 ms clock: 120 and 130 ms, 10 s in all
    assert set(durations) == {120, 130} and sum(durations) == 10_000
    assert render.gif_durations(3, 100) == [20, 20, 20]


def test_every_and_range_keep_the_last_frame(replay_path, tmp_path):
    result = render.render_replay(replay_path, tmp_path / "clip.gif", size=64, every=2)
    assert result.frames == 3  # frames 0, 2 and the last, 3
    assert len(gif_frames(result.output)) == 3
    assert render.frame_indices(10, start=2, end=-2, every=3) == [2, 5, 7]
    assert render.frame_indices(5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="select nothing"):
        render.frame_indices(5, start=5)
    with pytest.raises(ValueError, match="every"):
        render.frame_indices(5, every=0)


def test_fog_player_hides_an_enemy_it_did_not_see_and_darkens_unseen_cells(replay_path, tmp_path):
    frame = gif_frames(render.render_replay(replay_path, tmp_path / "fog.gif", size=SIZE, fog_player=0).output)[0]
    style = render.STYLE
    dark = tuple(round(c * style.fog_darkness) for c in style.background)
    assert close_to(pixel_at(frame, 28.0, 4.0), dark, tolerance=6)  # the unseen zergling is not drawn
    assert close_to(pixel_at(frame, 14.0, 16.0), style.players[1])  # the enemy marine in sight is
    assert close_to(pixel_at(frame, 10.0, 20.0), style.background)  # ground in sight is lit
    # Player 2 saw its own zergling.
    frame = gif_frames(render.render_replay(replay_path, tmp_path / "fog2.gif", size=SIZE, fog_player=1).output)[0]
    assert close_to(pixel_at(frame, 28.0, 4.0), style.players[1])
    with pytest.raises(ValueError, match="fog_player"):
        render.render_replay(replay_path, tmp_path / "bad.gif", fog_player=2)


def test_visible_cells_follow_the_sight_rule():
    replay = synthetic_replay()
    seen = render.visible_cells(replay.frame_units(0), 0, render.unit_type_table(replay.header), (MAP, MAP))
    assert seen[16, 8] and seen[16, 16] and not seen[16, 18]  # marine at x 8: sight 9 reaches x 16.5 - 0.5
    assert not seen[4, 28]


def test_unknown_suffix_is_a_clear_error(replay_path, tmp_path):
    with pytest.raises(ValueError, match=r"unknown suffix '\.avi'.*\.gif"):
        render.render_replay(replay_path, tmp_path / "clip.avi")
    with pytest.raises(ValueError, match="unknown suffix"):
        render.render_replay(replay_path, tmp_path / "clip")


def test_missing_or_corrupted_replay_names_the_file(tmp_path):
    missing = tmp_path / "nowhere.replay.npz"
    with pytest.raises(ReplayError, match="nowhere.replay.npz: no such file"):
        render.render_replay(missing, tmp_path / "clip.gif")
    corrupted = tmp_path / "broken.replay.npz"
    corrupted.write_bytes(b"PK\x03\x04 this is not a zip archive at all")
    with pytest.raises(ReplayError, match="broken.replay.npz"):
        render.render_replay(corrupted, tmp_path / "clip.gif")
    assert not (tmp_path / "clip.gif").exists()


def test_mp4_encodes_with_ffmpeg_or_says_none_is_installed(replay_path, tmp_path):
    output = tmp_path / "clip.mp4"
    if render.find_ffmpeg() is None:
        with pytest.raises(render.MissingEncoderError, match=r"ffmpeg.*\.gif"):
            render.render_replay(replay_path, output, size=64)
        assert not output.exists()
    else:
        result = render.render_replay(replay_path, output, size=64)
        assert result.frames == FRAMES and result.bytes > 0


def test_mp4_pipes_raw_rgb_frames_to_ffmpeg(replay_path, tmp_path, monkeypatch):
    """A stand-in ffmpeg that stores what it is piped: every frame's RGB bytes reach the encoder."""
    fake = tmp_path / "fake_ffmpeg"
    fake.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[-1], 'wb').write(sys.stdin.buffer.read())\n")
    fake.chmod(0o755)
    monkeypatch.setattr(render, "find_ffmpeg", lambda: str(fake))
    result = render.render_replay(replay_path, tmp_path / "clip.mp4", size=64)
    width, height = render.map_view(synthetic_replay().header, 64).image_size
    assert result.bytes == FRAMES * width * height * 3
    fake.write_text(f"#!{sys.executable}\nimport sys\nsys.stdin.buffer.read()\nprint('no libx264', file=sys.stderr)\n"
                    "sys.exit(1)\n")
    with pytest.raises(RuntimeError, match="no libx264"):
        render.render_replay(replay_path, tmp_path / "failed.mp4", size=64)
    assert not (tmp_path / "failed.mp4").exists()
    # An encoder that quits before reading: the broken pipe ends in the encoder's message, not a traceback.
    fake.write_text(f"#!{sys.executable}\nimport sys\nprint('bad option', file=sys.stderr)\nsys.exit(2)\n")
    with pytest.raises(RuntimeError, match="exit status 2.*bad option"):
        render.render_replay(replay_path, tmp_path / "failed.mp4", size=320)
    assert not list(tmp_path.glob("*.part"))


def test_header_texts():
    assert render.game_time(0, 22.4) == "0:00"
    assert render.game_time(22 * 22.4 * 60 + 5 * 22.4, 22.4) == "22:05"
    names = ["blue bot", "red bot"]
    assert render.outcome_text({"result": [1, -1]}, names) == "blue bot wins"
    assert render.outcome_text({"result": [-1, 1], "ended": "terminated"}, names) == "red bot wins"
    assert render.outcome_text({"result": [0, 0], "ended": "truncated"}, names) == "Draw (time limit)"
    assert render.outcome_text({"result": [37.0]}, ["solo"]) == "Game over - score 37"
    assert render.outcome_text({"result": [], "ended": "stopped"}, names) is None  # recorded before the end
    assert render.outcome_text({"result": [0, 0], "ended": "stopped"}, names) is None
    assert render.outcome_text({}, names) is None
    header = {"players": [{"name": "scripted", "player": 0}, {"name": "scripted", "player": 1}]}
    assert render.player_names(header, 2) == ["scripted (P1)", "scripted (P2)"]
    assert render.player_names({}, 2) == ["Player 1", "Player 2"]
