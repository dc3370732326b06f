"""``python -m tests.training.float64_main MODULE ARGS…``: a CLI's ``main`` with networks built in float64.

For comparisons whose float32 rounding the training amplifies (see tests/training/test_distributed.py).
"""

from __future__ import annotations

import importlib
import sys

import torch

if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    sys.exit(importlib.import_module(sys.argv[1]).main(sys.argv[2:]))
