"""Scripted agents for the PySC2 mini-games, one module per game, and for the two-player scenarios (army.py for the
battles, races.py for the races), each playing one seat."""
