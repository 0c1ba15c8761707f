"""Dates as the pages write them ("Mar 2, 2026"), for the core as well as the templates."""
from datetime import date


def date_text(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"
