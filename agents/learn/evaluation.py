"""A trained policy's evaluation: games of it (player 1) on its run's scenario against the run's opponent, their
scores (one-player scenarios) or outcomes (+1 / 0 / -1, two-player scenarios), optionally recorded with the policy's
value and top actions per step for the replay viewer's explanation panel."""

from __future__ import annotations

import arena
from agents.learn.config import TrainConfig
from agents.learn.trainer import opponent_agent
from agents.policies.base import Policy, PolicyAgent, policy_details
from agents.rollout import EpisodeScores, play_episodes, play_matches
from arena.replay.recorder import ReplayRecorder
from arena.scenarios.registry import make_scenario, resolve_id


def evaluate(policy: Policy, config: TrainConfig, episodes: int, *, replay_dir: str | None = None,
             seed: int = 10_000, greedy: bool = False) -> EpisodeScores:
    """Play `episodes` games with the policy (player 1) and return their results (scores; in two-player scenarios
    +1 / 0 / -1 for the policy); with `replay_dir`, record them (with the policy's value and top actions per step,
    for the viewer's explanation panel)."""
    scenario_id = resolve_id(config.scenario)
    two_player = make_scenario(scenario_id).spec.num_agents > 1
    env = arena.make(scenario_id, num_envs=episodes, device=config.device, step_mul=config.step_mul,
                     interface=config.interface)
    agent = PolicyAgent(policy, seed=seed, greedy=greedy)
    names = [f"{config.policy}-policy"] + ([config.opponent or "?"] if two_player else [])
    details = [{**policy_details(policy), "action_space_name": config.action_space}] + ([{}] if two_player else [])
    recorder = None if replay_dir is None else ReplayRecorder(replay_dir, names, player_details=details)
    if two_player:
        record = play_matches(env, [agent, opponent_agent(config)], seed=seed, recorder=recorder)
        return EpisodeScores(scores=[float(o) for o in record.outcomes], steps=record.steps)
    return play_episodes(env, agent, seed=seed, recorder=recorder)


__all__ = ["evaluate"]
