"""experiments/init_from_supernet.py: the epochs-saved reading of two validation curves, and the data subset."""

from __future__ import annotations

from experiments import init_from_supernet
from nas.proxies.data import synthetic_data


def test_epochs_saved_is_the_epochs_scratch_needs_to_reach_the_init_run_minus_k() -> None:
    init = [40.0, 45.0, 50.0, 52.0]
    scratch = [10.0, 39.0, 46.0, 51.0]
    # k=0: scratch first reaches 40 at epoch 2; k=1: 45 at 2; k=2: 50 at 3; k=3: never reaches 52 within 3 epochs
    assert init_from_supernet.epochs_saved(init, scratch) == ["2", "1", "1", "> 0"]
    assert init_from_supernet.epochs_saved([5.0, 20.0], [10.0, 30.0]) == ["0", "0"]  # scratch ahead: nothing saved (or negative)
    assert init_from_supernet.epochs_saved([5.0, 9.0, 20.0], [10.0, 30.0, 31.0]) == ["0", "-1", "-1"]


def test_the_subset_is_seeded_and_keeps_train_and_test_apart() -> None:
    data = synthetic_data(n_train=100, n_val=50)
    a = init_from_supernet.subset(data, train=40, test=10, seed=0)
    b = init_from_supernet.subset(data, train=40, test=10, seed=0)
    assert (a.train_images == b.train_images).all() and len(a.train_images) == 40 and len(a.val_images) == 10
    assert a.classes == data.classes and a.name != data.name  # its own name: a supernet of the subset refuses the full set
