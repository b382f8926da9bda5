"""Fine-tuning sampled models with the zoo's own training recipe, on the population
trainer: each sample starts from its decoded weights, with fresh optimizer moments."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hyperrep._device import check_device
from hyperrep._errors import HyperrepError
from hyperrep.population import ModelSpec
from hyperrep.sampling._sample import Samples
from hyperrep.zoo import Zoo, load_zoo_data, zoo_trainer

_RECIPE = ("optimizer", "lr", "weight_decay", "dropout")


def finetune_specs(zoo: Zoo, n: int, activation: str) -> list[ModelSpec]:
    """`n` models of the zoo's recipe (its one optimizer, learning rate, l2 and dropout),
    seeds 1..n for the data order and dropout masks."""
    config = zoo.config
    varied = [k for k in _RECIPE if len(config.grid.get(k, ())) > 1]
    if varied:
        raise HyperrepError(
            f"{zoo.path} varies {', '.join(varied)}: fine-tuning needs the one recipe of a seed zoo"
        )
    if config.init_scheme == "imported":
        raise HyperrepError(f"{zoo.path} is imported: its training recipe is not ours to rerun")
    base = config.models()[0]
    return [replace(base, model_id=i, seed=i + 1, activation=activation) for i in range(n)]


def finetune_samples(
    samples: Samples,
    zoo: Zoo,
    epochs: int,
    *,
    data_dir: str | Path | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Test accuracy (samples, epochs + 1) of the samples trained `epochs` epochs from
    their decoded weights with `zoo`'s recipe and data (epoch 0: as sampled). `zoo` may be
    another zoo of the samples' architecture than the one they were drawn from: transfer,
    e.g. MNIST samples fine-tuned on a Fashion-MNIST zoo's task. `device`: where they
    train (cpu or cuda)."""
    if epochs < 1:
        raise HyperrepError(f"--finetune must be >= 1 epochs, got {epochs}")
    arch, config = zoo.architecture, zoo.config
    if samples.weights.shape[1] != arch.n_params:
        raise HyperrepError(
            f"the samples have {samples.weights.shape[1]} parameters, {zoo.path}'s "
            f"{arch.name} has {arch.n_params}"
        )
    specs = finetune_specs(zoo, len(samples.weights), samples.activation)
    data = load_zoo_data(config, arch, data_dir, check_device(device))
    trainer = zoo_trainer(config, arch, specs, data)
    with torch.no_grad():
        trainer.flat.copy_(torch.from_numpy(samples.weights).to(trainer.flat.device))
    accuracy = [trainer.record().test_acc]
    for _ in range(epochs):
        trainer.train_epoch()
        accuracy.append(trainer.record().test_acc)
    return np.stack(accuracy, axis=1)
