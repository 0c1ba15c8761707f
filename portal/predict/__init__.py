"""Predictive guest-value models: pure numpy/scipy, no Flask, no database.

Modules:

- ``summary``: transactions -> per-guest (frequency, recency, T, monetary_value) in weeks, holdout split, compression.
- ``bgnbd``: BG/NBD (Fader, Hardie & Lee 2005) fit, P(alive), expected visits, next-visit estimate.
- ``gamma_gamma``: Gamma-Gamma spend model (Fader & Hardie, note 025).
- ``clv``: discounted 12-month value combining both models.
- ``rfm``: RFM quintile scores, named segments, churn bands.
- ``diagnostics``: whether the figures are backed by enough data, and the calibration chart.

Time unit everywhere: weeks, measured from each guest's first purchase day. Every public function takes plain
arrays so the portal can feed SQL aggregates directly; invalid input raises ``ValueError``.
"""
