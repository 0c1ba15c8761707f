"""Fixtures for the predictive models: the real CDNOW sample shipped as data in the lifetimes 0.11.3 wheel."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def cdnow_dir() -> Path:
    """lifetimes' datasets folder, found without importing lifetimes (its code needs pandas/autograd we lack).

    lifetimes is a declared test dependency, so its absence fails the run instead of skipping the proof.
    """
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("lifetimes 0.11.3 is a test dependency (it ships the CDNOW data): "
                    "pip install --no-deps lifetimes==0.11.3", pytrace=False)
    folder = Path(spec.submodule_search_locations[0]) / "datasets"
    if not (folder / "CDNOW_sample.txt").is_file():
        pytest.fail(f"CDNOW_sample.txt not found in {folder}; reinstall lifetimes==0.11.3", pytrace=False)
    return folder


@pytest.fixture(scope="session")
def cdnow_transactions(cdnow_dir):
    """(customer id, date, amount) per line of CDNOW_sample.txt.

    Columns, as lifetimes' own examples read them: master customer id, sample customer id 1-2357 (the ``ID`` of
    the summary files), date yyyymmdd, number of CDs, dollar amount. Whitespace separated, CRLF line ends.
    """
    raw = np.loadtxt(cdnow_dir / "CDNOW_sample.txt", dtype=float)
    ymd = raw[:, 2].astype(np.int64)
    years = (ymd // 10000 - 1970).astype("datetime64[Y]")
    months = years.astype("datetime64[M]") + (ymd // 100 % 100 - 1).astype("timedelta64[M]")
    dates = months.astype("datetime64[D]") + (ymd % 100 - 1).astype("timedelta64[D]")
    return raw[:, 1].astype(np.int64), dates, raw[:, 4]


@pytest.fixture(scope="session")
def cdnow_summary(cdnow_dir):
    """cdnow_customers_summary.csv as a structured array with columns ID, frequency, recency, T."""
    table = np.genfromtxt(cdnow_dir / "cdnow_customers_summary.csv", delimiter=",", names=True)
    assert table.dtype.names == ("ID", "frequency", "recency", "T"), table.dtype.names
    return table


@pytest.fixture(scope="session")
def cdnow_monetary(cdnow_dir):
    """cdnow_customers_summary_with_transactions.csv: ID, x (frequency), t_x, T, zbar (mean repeat spend)."""
    table = np.genfromtxt(cdnow_dir / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True)
    assert table.dtype.names == ("ID", "x", "t_x", "T", "zbar"), table.dtype.names
    return table
