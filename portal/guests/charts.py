"""Small server-rendered SVG bar charts (no JavaScript: the CSP allows none inline), for a guest's spend."""
from dataclasses import dataclass

WIDTH, HEIGHT, GAP, MAX_BAR = 600, 140, 4, 48


@dataclass
class Bar:
    label: str
    values: list[int]  # stacked series, bottom first
    x: float
    width: float
    segments: list[tuple[float, float]]  # (y, height) per series

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass
class Chart:
    bars: list[Bar]
    width: int
    height: int
    peak: int
    money: bool


def bars(points: list[tuple[str, list[int]]], money: bool = False, peak: int | None = None, width: int = WIDTH,
         height: int = HEIGHT) -> Chart:
    """Lay out stacked bars: ``points`` are (label, [value per series]); ``peak`` is the top of the scale."""
    peak = peak or max((sum(values) for _, values in points), default=0) or 1
    slot = width / max(len(points), 1)
    laid = []
    for index, (label, values) in enumerate(points):
        y, segments = float(height), []
        for value in values:
            h = height * max(value, 0) / peak
            y -= h
            segments.append((round(y, 1), round(h, 1)))
        laid.append(Bar(label=label, values=values, x=round(index * slot + GAP / 2, 1),
                        width=round(min(max(slot - GAP, 1), MAX_BAR), 1), segments=segments))
    return Chart(bars=laid, width=width, height=height, peak=peak, money=money)
