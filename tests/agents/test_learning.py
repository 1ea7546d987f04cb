"""Learning happens: a fixed-seed run on MoveToBeacon must reach a score random play cannot (random: about 0.8,
README), so a change that breaks learning (losses, masks, encodings, the policy) fails CI. About 1-2 minutes on
2 CPU cores: the entity policy in the smallest action space, 16,384 agent steps."""

from __future__ import annotations

import torch

from agents.learn.config import TrainConfig
from agents.learn.evaluation import evaluate
from agents.learn.trainer import Trainer

LEARNS = TrainConfig(scenario="MoveToBeacon", policy="entity", screen_size=16, minimap_size=16, num_envs=32,
                     unroll=16, epochs=1, minibatches=2, learning_rate=1e-3, entropy_coef=1e-3,
                     action_space="move", seed=0)
STEPS = 16_384
RANDOM_PLAY = 0.8
"""`arena play MoveToBeacon --agent random --episodes 20`: 0.6 to 0.8 (README)."""


def test_moving_to_the_beacon_is_learned_in_sixteen_thousand_steps(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trainer = Trainer(LEARNS, tmp_path)
        trainer.train(STEPS, checkpoint_every=1_000)
        result = evaluate(trainer.policy, LEARNS, 32)
    finally:
        torch.set_num_threads(threads)
    assert trainer.progress.agent_steps == STEPS
    assert result.mean >= 10 > 10 * RANDOM_PLAY, f"MoveToBeacon after {STEPS} steps: {result.mean:.2f}"
