"""BatchNorm recalibration and folding: the folded network is the recalibrated one, so proxy scores do not move.

``fold_batch_norm`` changes float rounding only (each conv's weights are multiplied by the BatchNorm's
scale once instead of the activations each time): logits agree to 1e-4 of their largest magnitude, and the
top-1 counts agree exactly on the candidates drawn here. A prediction can flip where two logits tie within
that rounding (tests/proxies/test_supernet_proxy.py allows one image per candidate for that reason).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from nas.proxies.data import synthetic_data
from nas.space import get_space
from nas.supernet import Supernet
from nas.supernet.calibrate import fold_batch_norm, recalibrate_bn


@pytest.mark.parametrize("space_name", ["nas_bench_macro", "mobiledet_cifar"])
def test_folded_networks_compute_what_the_recalibrated_ones_compute(space_name: str) -> None:
    data = synthetic_data(n_train=160, n_val=96, size=16, num_classes=4)
    space = get_space(space_name, resolution=16).scaled(num_classes=4)
    torch.manual_seed(0)
    supernet = Supernet(space=space)
    calibration = list(torch.split(data.tensors(data.train_images, size=16), 64))
    images, labels = data.tensors(data.val_images, size=16), torch.from_numpy(data.val_labels)
    for seed in range(4):
        arch = replace(space.random(seed), num_classes=4)
        network = recalibrate_bn(supernet.extract(arch), calibration)
        with torch.inference_mode():
            plain = network(images)
            folded = fold_batch_norm(network)(images)
        assert not any(type(m) is nn.BatchNorm2d for m in network.modules())
        torch.testing.assert_close(folded, plain, rtol=0, atol=1e-4 * float(plain.abs().max()))
        assert int((folded.argmax(1) == labels).sum()) == int((plain.argmax(1) == labels).sum())


def test_folding_refuses_a_network_in_training_mode() -> None:
    with pytest.raises(ValueError, match="eval-mode statistics"):
        fold_batch_norm(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train())


def test_only_a_batch_norm_right_after_a_conv_is_folded() -> None:
    model = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    fold_batch_norm(model)
    assert [type(m) for m in model] == [nn.BatchNorm2d, nn.Conv2d, nn.Identity, nn.ReLU]
    assert model[1].bias is not None
