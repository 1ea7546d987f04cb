"""Scripted agents for the PySC2 mini-games, one module per game."""
