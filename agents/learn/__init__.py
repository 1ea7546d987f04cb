"""Learners: PPO and V-trace on the batched engine."""
