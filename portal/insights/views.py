"""What the Guest value page shows, in plain words: the last fit, its parameters, the quality check, RFM groups.

Everything is read from ``model_fits`` and ``guest_scores`` (the job wrote them); nothing is fitted here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from portal.extensions import current_settings, db
from portal.models.scores import ModelFit
from portal.predict.rfm import SCORE_LEVELS, segment_table
from portal.scoring import service
from portal.scoring.summaries import EPOCH

WEEKS_PER_MONTH = 365.25 / 12 / 7
CHART_WIDTH, CHART_HEIGHT = 560, 160


@dataclass
class GroupedBar:
    label: str
    guests: int
    bars: list[tuple[str, float | None, float, float, float, float]]  # (series, value, x, y, width, height)


def page(org_id: int) -> dict:
    fit = service.latest_fit(db.session, org_id)
    counts = service.group_counts(db.session, org_id)
    scored = sum(counts.values())
    groups = [{**group, "guests": counts.get(group["name"], 0),
               "share": round(100 * counts.get(group["name"], 0) / scored) if scored else 0}
              for group in service.group_rules()]
    bands = service.band_counts(db.session, org_id)
    return {
        "fit": fit,
        "unavailable": service.unavailable(fit, service.Settings.of(current_settings()).thresholds),
        "scored": scored,
        "groups": groups,
        "grid": grid(),
        "bands": [{"band": band, "text": text, "guests": bands.get(band, 0)} for band, text in service.band_rules()],
        "parameters": parameters(fit) if fit is not None and fit.backed and fit.params else [],
        "quality": quality(fit) if fit is not None and fit.backed and fit.calibration else None,
        "definitions": service.DEFINITIONS,
    }


def grid() -> list[tuple[int, list[str]]]:
    """The R × FM score boxes, R = 5 first: (R, [group name for FM = 1..5])."""
    table = segment_table()
    return [(r, [str(table[r - 1, fm - 1]) for fm in range(1, SCORE_LEVELS + 1)]) for r in range(SCORE_LEVELS, 0, -1)]


def parameters(fit: ModelFit) -> list[tuple[str, str, str]]:
    """(name, value, what it means) for each fitted parameter."""
    p = fit.params
    rows = [
        ("r, α", f"{p['r']:.3f}, {p['alpha']:.3f} weeks",
         f"Visit rate while a guest keeps coming: on average {p['r'] / p['alpha'] * WEEKS_PER_MONTH:.2f} visits a "
         f"month, {'very ' if p['r'] < 1 else ''}uneven between guests (the smaller r, the more uneven)."),
        ("a, b", f"{p['a']:.3f}, {p['b']:.3f}",
         f"After each visit a guest stops coming for good with a chance of {p['a'] / (p['a'] + p['b']):.0%} "
         f"on average."),
    ]
    if p.get("q") is not None:
        mean = p["p"] * p["v"] / (p["q"] - 1) / 100
        rows.append(("p, q, v", f"{p['p']:.3f}, {p['q']:.3f}, {p['v'] / 100:,.2f} dollars",
                     f"Spend per visit: ${mean:,.2f} on average across guests; each guest's own average counts for "
                     f"more the more often they came."))
    return rows


def quality(fit: ModelFit) -> dict:
    """The calibration chart and a sentence: fitted without the last weeks, how well did it predict them?"""
    c = fit.calibration
    end = EPOCH + timedelta(days=c["calibration_end_day"])
    actual, predicted = c["actual_total"], c["predicted_total"]
    if actual:
        error = (predicted - actual) / actual
        closeness = "close" if abs(error) <= 0.10 else "fairly close" if abs(error) <= 0.25 else "far off"
        verdict = (f"That is {closeness}: the model {'over' if error > 0 else 'under'}estimated by "
                   f"{abs(error):.0%}.")
        if closeness == "far off":
            verdict += " Treat the predictions as rough until more history is in."
    else:
        verdict = "No guest came back in that period, so there is nothing to compare with."
    sentence = (f"Fitted again on the orders up to {end:%b %d, %Y} only, the model expected {predicted:,.0f} return "
                f"visits in the {c['holdout_days']} days after from the {c['guests_total']:,} guests known by then; "
                f"they made {actual:,}. {verdict}")
    return {"sentence": sentence, "chart": chart(c), "calibration_end": end, "holdout_days": c["holdout_days"]}


def chart(calibration: dict) -> dict:
    """Side-by-side bars (actual, predicted) of mean return visits per guest, by visits before the split."""
    values = [v for v in calibration["actual"] + calibration["predicted"] if v is not None]
    peak = max(values, default=0) or 1
    slot = CHART_WIDTH / len(calibration["labels"])
    width = min(slot / 2 - 4, 28)
    groups = []
    for index, label in enumerate(calibration["labels"]):
        bars = []
        for offset, series in enumerate(("actual", "predicted")):
            value = calibration[series][index]
            height = round(CHART_HEIGHT * (value or 0) / peak, 1)
            x = round(index * slot + slot / 2 - width + offset * width, 1)
            bars.append((series, value, x, round(CHART_HEIGHT - height, 1), round(width, 1), height))
        groups.append(GroupedBar(label, calibration["guests"][index], bars))
    return {"groups": groups, "width": CHART_WIDTH, "height": CHART_HEIGHT, "slot": slot, "peak": peak}
