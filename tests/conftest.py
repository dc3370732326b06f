"""Shared fixtures: where ../shared/data lives, and a quiet torch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _user_tables(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tables the tests build go to a throw-away folder, and a developer's own tables cannot change results."""
    import os

    os.environ["NAS_TABLE_DIR"] = str(tmp_path_factory.mktemp("user-tables"))  # subprocesses inherit it


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data folder beside the checkout), which is absent")
    return path


@pytest.fixture
def repo() -> Path:
    return REPO
