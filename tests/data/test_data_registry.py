from __future__ import annotations

import pytest
import torch

from hyperrep.data import ImageDataset, list_datasets, load_dataset, register_dataset


def _ds(**over: object) -> ImageDataset:
    fields: dict[str, object] = {
        "name": "toy",
        "x_train": torch.zeros(6, 1, 2, 2),
        "y_train": torch.tensor([0, 1, 0, 1, 0, 1]),
        "x_test": torch.zeros(2, 1, 2, 2),
        "y_test": torch.tensor([1, 0]),
        "num_classes": 2,
        "class_names": ("a", "b"),
    }
    fields.update(over)
    return ImageDataset(**fields)  # type: ignore[arg-type]


def test_valid_dataset_is_frozen() -> None:
    ds = _ds()
    assert ds.image_shape == (1, 2, 2)
    with pytest.raises(AttributeError):
        ds.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"x_train": torch.zeros(6, 1, 2, 2, dtype=torch.float64)}, "x_train must be float32"),
        ({"x_train": torch.zeros(6, 4)}, "x_train must be float32"),
        ({"y_test": torch.tensor([1.0, 0.0])}, "y_test must be int64"),
        ({"y_train": torch.tensor([0, 1])}, "x_train has 6 samples but y_train has 2"),
        ({"y_test": torch.tensor([1, 2])}, "y_test values outside"),
        ({"class_names": ("a",)}, "1 class_names for 2 classes"),
        ({"x_test": torch.zeros(2, 1, 3, 3)}, "differ in shape"),
    ],
)
def test_invalid_dataset_raises(override: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _ds(**override)


def test_registry_names_and_unknown() -> None:
    assert {"tetris", "mnist", "fashion-mnist"} <= set(list_datasets())
    with pytest.raises(ValueError, match="unknown data set 'cifar'.*fashion-mnist, mnist"):
        load_dataset("cifar")


def test_register_and_load_custom() -> None:
    @register_dataset("toy-for-test")
    def toy(scale: float = 1.0) -> ImageDataset:
        return _ds(x_train=torch.full((6, 1, 2, 2), scale))

    assert "toy-for-test" in list_datasets()
    assert float(load_dataset("toy-for-test", scale=2.0).x_train[0, 0, 0, 0]) == 2.0

    with pytest.raises(ValueError, match="already registered"):

        @register_dataset("toy-for-test")
        def other() -> ImageDataset:
            return _ds()
