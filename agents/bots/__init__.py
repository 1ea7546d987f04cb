"""Built-in bots for the full game (FullGame): `bot:<level|strategy>` in the agent registry."""
