"""The supernet file: round trip, and one line for a file trained for another space, resolution or data set."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nas.proxies.data import synthetic_data
from nas.space import get_space
from nas.supernet import Supernet, SupernetError
from nas.supernet.checkpoint import FILE_NAME, load_supernet, read_supernet, save_supernet


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Supernet]:
    torch.manual_seed(0)
    supernet = Supernet(space=get_space("nas_bench_macro"))
    folder = tmp_path_factory.mktemp("supernet")
    save_supernet(
        folder,
        supernet=supernet,
        data=synthetic_data(num_classes=10, size=32),
        validation={"fraction": 0.2, "seed": 0},
        sampling={"rule": "spos", "seed": 0},
        training={"steps": 0},
    )
    return folder, supernet


def test_round_trip_keeps_weights_and_settings(saved: tuple[Path, Supernet]) -> None:
    folder, supernet = saved
    loaded, payload = load_supernet(folder, space=get_space("nas_bench_macro"), data=synthetic_data(num_classes=10, size=32))
    for name, tensor in supernet.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert payload["sampling"] == {"rule": "spos", "seed": 0}
    assert payload["space"]["name"] == "nas_bench_macro" and len(payload["space"]["hash"]) == 16
    assert payload["data"]["train"] == 512
    assert load_supernet(folder)[0].space.name == "nas_bench_macro"  # the space named in the file


@pytest.mark.parametrize(
    ("space", "data", "message"),
    [
        (lambda: get_space("mobiledet_cifar"), None, "trained for space 'nas_bench_macro'"),
        (lambda: get_space("nas_bench_macro", resolution=64), None, "trained at resolution 32, the search uses 64"),
        (lambda: get_space("nas_bench_macro", width=0.5), None, "trained at width 1.0"),
        (None, lambda: synthetic_data(num_classes=10, size=32, seed=1), "trained on another data set"),
        (None, lambda: synthetic_data(num_classes=10, size=32, n_train=600), "trained on another data set"),
    ],
)
def test_a_mismatched_file_is_refused_with_one_line(saved: tuple[Path, Supernet], space, data, message: str) -> None:  # type: ignore[no-untyped-def]
    folder, _ = saved
    with pytest.raises(SupernetError, match=message) as caught:
        load_supernet(folder, space=space() if space else None, data=data() if data else None)
    assert "\n" not in str(caught.value)


def test_missing_damaged_and_foreign_files_are_refused_with_one_line(tmp_path: Path, saved: tuple[Path, Supernet]) -> None:
    with pytest.raises(SupernetError, match="no supernet.pt there"):
        read_supernet(tmp_path)
    good = (saved[0] / FILE_NAME).read_bytes()
    (tmp_path / FILE_NAME).write_bytes(good[: len(good) // 2])
    with pytest.raises(SupernetError, match="not a readable supernet file"):
        read_supernet(tmp_path)
    torch.save({"format": "something-else"}, tmp_path / FILE_NAME)
    with pytest.raises(SupernetError, match="not a supernet file"):
        read_supernet(tmp_path)


def test_the_file_cannot_run_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("ran",))

    torch.save({"format": "nas-supernet", "version": 1, "space": Evil()}, tmp_path / FILE_NAME)
    with pytest.raises(SupernetError, match="not a readable supernet file"):
        read_supernet(tmp_path)


def test_a_space_from_a_yaml_file_is_found_again_by_its_path(tmp_path: Path) -> None:
    source = Path(get_space("nas_bench_macro").definition.source).read_text()
    yaml_file = tmp_path / "my_space.yaml"
    yaml_file.write_text(source.replace("name: nas_bench_macro", "name: my_space"))
    space = get_space(str(yaml_file))
    data = synthetic_data(num_classes=10, size=32)
    save_supernet(
        tmp_path / "sn", supernet=Supernet(space=space), data=data, validation={"fraction": 0.1, "seed": 0}, sampling={}, training={}
    )
    loaded, _ = load_supernet(tmp_path / "sn")
    assert loaded.space.name == "my_space"
