"""Server-drawn SVG bar charts with a value axis (the CSP allows no inline style or script: geometry goes in SVG
attributes, colours in app.css classes), and the grouping of days into the bars shown."""
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

WIDTH, HEIGHT = 480, 200  # about the size drawn (two charts a row at 1366 px): text stays legible
LEFT, RIGHT, TOP, BOTTOM = 58, 6, 18, 22  # room for the value axis, the value labels and the day labels
GAP = 0.2  # share of a bar's slot left empty
MAX_X_LABELS = 8
MAX_VALUE_LABELS = 16  # above that, only the highest and the last bar carry their value
STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10)  # gridline spacings, times a power of ten
LINES = 4  # gridlines above zero


@dataclass
class Bar:
    label: str
    values: list[int | float]
    title: str  # the tooltip: every series' value
    x: float
    width: float
    segments: list[tuple[float, float]] = field(default_factory=list)  # (y, height) per series, bottom first
    show_label: bool = True
    value_label: str | None = None
    value_y: float = 0.0
    label_x: float = 0.0  # where its label and value are written
    label_anchor: str = "middle"


@dataclass
class Chart:
    title: str
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label) of the value axis
    series: list[str] | None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    base: int = HEIGHT - BOTTOM


def nice_peak(value: float, unit: float = 1) -> float:
    """The top of an axis of ``LINES`` equal steps at or above ``value``: each step one of ``STEPS`` times a power of
    ten, and a whole number of ``unit`` (a count has no half orders, a dollar axis no cents)."""
    raw = max(value, 0) / LINES
    scale = 1.0
    while scale * 10 <= raw:
        scale *= 10
    while scale > raw and scale > 1e-9:
        scale /= 10
    step = next(scale * s for s in STEPS if scale * s >= raw) if raw > 0 else unit
    return LINES * max(unit, -(-step // unit) * unit)


def bar_chart(title: str, points: list[tuple[str, list[int | float]]], fmt: Callable[[float], str],
              series: list[str] | None = None, peak: float | None = None, unit: float = 1,
              notes: list[str] | None = None) -> Chart:
    """Stacked bars of ``points`` ((label, [value per series])) on a 0..peak axis of ``LINES`` steps; ``notes``:
    each bar's name in its tooltip (default: its label)."""
    peak = peak or nice_peak(max((sum(values) for _, values in points), default=0), unit)
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - RIGHT - LEFT) / max(len(points), 1)
    every = -(-len(points) // MAX_X_LABELS)
    totals = [sum(values) for _, values in points]
    highest = max(range(len(totals)), key=totals.__getitem__, default=None)
    bars = []
    for index, (label, values) in enumerate(points):
        y, segments = float(HEIGHT - BOTTOM), []
        for value in values:
            h = plot_height * max(value, 0) / peak
            y -= h
            segments.append((round(y, 1), round(h, 1)))
        names = series or [None] * len(values)
        tip = ", ".join(f"{name} {fmt(value)}" if name else fmt(value) for name, value in zip(names, values))
        labelled = len(points) <= MAX_VALUE_LABELS or index in (highest, len(points) - 1)
        heading = notes[index] if notes else label
        bars.append(Bar(label=label, values=values, title=f"{heading}: {tip}",
                        x=round(LEFT + index * slot + slot * GAP / 2, 1), width=round(max(slot * (1 - GAP), 1), 1),
                        segments=segments,
                        show_label=(len(points) - 1 - index) % every == 0,
                        value_label=fmt(totals[index]) if labelled else None, value_y=round(y - 4, 1)))
    for bar in bars:
        bar.label_x = round(bar.x + bar.width / 2, 1)
    if len(bars) > 1:  # the last bar's texts end at its right edge: the chart's edge never cuts them
        bars[-1].label_anchor, bars[-1].label_x = "end", round(bars[-1].x + bars[-1].width, 1)
    ticks = [(round(HEIGHT - BOTTOM - plot_height * step / LINES, 1), fmt(peak * step / LINES))
             for step in range(LINES + 1)]
    return Chart(title=title, bars=bars, ticks=ticks, series=series)


def buckets(days: list[date]) -> tuple[str, list[tuple[str, list[date]]]]:
    """Group the period's days into bars: days up to 31, weeks (from Monday) up to 120, else months.
    Returns the unit's name and (label, days) per bar."""
    if len(days) <= 31:
        return "day", [(f"{day:%b} {day.day}", [day]) for day in days]
    groups: dict[date, list[date]] = {}
    weekly = len(days) <= 120
    for day in days:
        key = day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)
        groups.setdefault(key, []).append(day)
    if weekly:
        return "week", [(f"{key:%b} {key.day}", members) for key, members in groups.items()]
    return "month", [(f"{key:%b %Y}", members) for key, members in groups.items()]


def dollars(cents: float) -> str:
    return f"${round(cents / 100):,}"


def count(value: float) -> str:
    return f"{round(value):,}"


def percent(value: float) -> str:
    return f"{round(value)}%"
