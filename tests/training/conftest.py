from __future__ import annotations

from pathlib import Path

import pytest

from tests.study.tiny import build_tiny_table


@pytest.fixture(scope="session")
def tiny_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A measured table (onnxruntime, few runs) for NAS-Bench-Macro and MobileNetV2-α at 16×16."""
    return build_tiny_table(tmp_path_factory.mktemp("tables"))
