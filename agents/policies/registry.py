"""Policies by kind: `make_policy("fullyconv", interface)`, `make_policy("entity", interface, unit_layers=3)`."""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Mapping

from agents.policies.base import Policy
from agents.policies.entity import EntityPolicy
from agents.policies.fully_conv import FullyConv
from arena.interface.view import InterfaceFormat

POLICY_KINDS: Mapping[str, type[Policy]] = types.MappingProxyType({
    FullyConv.config_type.kind: FullyConv,  # "fullyconv"
    EntityPolicy.config_type.kind: EntityPolicy,  # "entity"
})
"""The policy classes by kind name (what save_policy writes as "kind")."""
NEEDS_FEATURE_UNITS = frozenset({"entity"})
"""Kinds that read the unit list (InterfaceFormat(feature_units=True))."""


def make_policy(kind: str, interface: InterfaceFormat, **overrides: Any) -> Policy:
    """A new, randomly initialised policy of `kind` ("fullyconv" or "entity") for observations of `interface`
    (screen and minimap sizes come from it); `overrides` set other config fields (e.g. hidden_size=128).
    Seed torch (torch.manual_seed) for the same initial weights.

    Raises:
        ValueError: the kind is unknown, an override is not a config field or invalid, or the interface lacks what
            the policy reads.
    """
    if kind not in POLICY_KINDS:
        raise ValueError(f"unknown policy kind {kind!r}; known: {', '.join(POLICY_KINDS)}")
    policy_class = POLICY_KINDS[kind]
    config_type = policy_class.config_type
    fields = {f.name for f in dataclasses.fields(config_type)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"{kind} policies have no config fields {unknown}; fields: {sorted(fields)}")
    for sized in ("screen_size", "minimap_size"):
        if sized in overrides:
            raise ValueError(f"{sized} comes from the interface ({getattr(interface, sized)}); do not override it")
    if not interface.feature_layers:
        raise ValueError(f"{kind} policies read feature layers; use InterfaceFormat(feature_layers=True)")
    if kind in NEEDS_FEATURE_UNITS and not interface.feature_units:
        raise ValueError(f"{kind} policies read the unit list; use InterfaceFormat(feature_units=True)")
    config = config_type(screen_size=interface.screen_size, minimap_size=interface.minimap_size, **overrides)
    return policy_class(config)
