"""The research calibration of the analytic device models (experiments/_lib/calibration.py)."""

from __future__ import annotations

import pytest

from experiments._lib.calibration import PUBLISHED_CSV, calibrate
from nas.latency.devices import get_device


@pytest.mark.slow
@pytest.mark.skipif(
    not PUBLISHED_CSV.exists(), reason=f"published latency data not found at {PUBLISHED_CSV} (../shared/data beside the repo)"
)
def test_calibration_leave_one_out_matches_the_shipped_header() -> None:
    result = calibrate("edgetpu")
    assert len(result.rows) >= 8 and result.median_loo_pct <= 20
    shipped = get_device("edgetpu").load_table().header["fidelity"]["leave_one_out"]["median_loo_error_pct"]
    assert result.median_loo_pct == pytest.approx(shipped, abs=0.05)
