"""BatchNorm recalibration: running statistics re-estimated for one candidate on a few training batches.

A supernet's shared running statistics mix every architecture that was trained,
so a candidate's own statistics are estimated before it is evaluated (as in SPOS,
Once-for-All and BigNAS): reset, then a cumulative average (``momentum=None``)
over the batches in training mode, without gradients.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def recalibrate_bn(model: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """Re-estimate every BatchNorm's running mean and variance on ``batches``; returns ``model`` in eval mode."""
    norms = [module for module in model.modules() if isinstance(module, _NORMS)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average: every batch counts the same
    model.train()
    seen = 0
    with torch.no_grad():
        for images in batches:
            model(images)
            seen += 1
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    if seen == 0 and norms:
        raise ValueError("BatchNorm recalibration needs at least one batch")
    return model.eval()
