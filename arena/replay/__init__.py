"""Replays: record games, read and verify them, render them, and the browser viewer."""
