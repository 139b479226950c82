"""Rendering: pure functions from state to pixels to encoded image bytes."""
