"""Segments: rules, their compiler to one SQL statement, presets, saved lists and exports.

The blueprint and its routes are in ``blueprint.py``."""
