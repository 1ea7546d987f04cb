"""Neural policies on the batched observations: FullyConv (the PySC2 paper's baseline) and EntityPolicy (a small
AlphaStar-like network over the unit list), their action distribution, checkpoints and the agent that plays them.

    policy = make_policy("fullyconv", InterfaceFormat(screen_size=32, minimap_size=32))
    agent = PolicyAgent(policy, seed=0)
"""

from agents.policies.base import (ActionDistribution, Policy, PolicyAgent, PolicyConfig, PolicyOutput, explain,
                                  to_batched_action)
from agents.policies.checkpoint import PolicyFileError, load_policy, save_policy
from agents.policies.entity import EntityConfig, EntityPolicy
from agents.policies.fully_conv import FullyConv, FullyConvConfig
from agents.policies.registry import POLICY_KINDS, make_policy

__all__ = ["ActionDistribution", "EntityConfig", "EntityPolicy", "FullyConv", "FullyConvConfig", "POLICY_KINDS",
           "Policy", "PolicyAgent", "PolicyConfig", "PolicyFileError", "PolicyOutput", "explain", "load_policy",
           "make_policy", "save_policy", "to_batched_action"]
