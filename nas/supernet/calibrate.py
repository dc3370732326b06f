"""BatchNorm recalibration: running statistics re-estimated for one candidate on a few training batches.

Then, for scoring, :func:`fold_batch_norm` folds each recalibrated BatchNorm into the conv before it
(eval mode only): the same function up to float rounding, without a BatchNorm pass over the validation
images (a third of a candidate's CPU time on this host).

A supernet's shared running statistics mix every architecture that was trained,
so a candidate's own statistics are estimated before it is evaluated (as in SPOS,
Once-for-All and BigNAS): reset, then a cumulative average (``momentum=None``)
over the batches in training mode, without gradients.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

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


def fold_batch_norm(model: nn.Module) -> nn.Module:
    """Fold every eval-mode ``BatchNorm2d`` that directly follows a ``Conv2d`` in an ``nn.Sequential`` into it, in place.

    Only adjacent pairs in a Sequential (``ConvBNAct``): nothing else can read the conv's output there.
    The BatchNorm becomes ``nn.Identity``; ``model`` must not be trained or recalibrated afterwards.
    """
    if model.training:
        raise ValueError("fold_batch_norm folds eval-mode statistics; call model.eval() first")
    for sequential in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(sequential) - 1):
            conv, norm = sequential[i], sequential[i + 1]
            if isinstance(conv, nn.Conv2d) and type(norm) is nn.BatchNorm2d and norm.track_running_stats:
                sequential[i] = fuse_conv_bn_eval(conv, norm)
                sequential[i + 1] = nn.Identity()
    return model
