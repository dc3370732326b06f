"""Fixtures for the fault and bad-input tests: a measured tiny table and a test plugin distribution."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.helpers import write_test_plugin
from tests.study.tiny import build_tiny_table


@pytest.fixture(scope="session")
def tiny_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A measured table (onnxruntime, few runs) for NAS-Bench-Macro and MobileNetV2-α at 16×16."""
    return build_tiny_table(tmp_path_factory.mktemp("tables"))


@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the ``nastestproxies`` distribution; put it on PYTHONPATH."""
    return write_test_plugin(tmp_path_factory.mktemp("plugins"))


@pytest.fixture
def postgres_url() -> str:
    """The test server's URL (``.ci/postgres.sh`` starts one on loopback; ``.ci/run`` exports it)."""
    url = os.environ.get("NAS_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("NAS_TEST_POSTGRES_URL is not set: start a server with `bash .ci/postgres.sh` and export its URL")
    return url
