"""Weight-sharing supernet over a search space: elastic layers, sampling rules, exact subnet extraction."""

from __future__ import annotations

from nas.supernet.network import Path, Supernet, SupernetError

__all__ = ["Path", "Supernet", "SupernetError"]
