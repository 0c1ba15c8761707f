"""Tests of the predictive guest-value models (portal.predict)."""
