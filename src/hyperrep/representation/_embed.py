"""Loading a trained run and embedding the checkpoints of a zoo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hyperrep._device import check_device
from hyperrep._errors import HyperrepError
from hyperrep.arch import Architecture
from hyperrep.representation import _run_folder as folder
from hyperrep.representation._config import RunConfig
from hyperrep.representation._data import CheckpointData, Normalizer, load_checkpoints
from hyperrep.representation._losses import pooled_r2
from hyperrep.representation._model import HyperRepresentation
from hyperrep.weights import canonicalize, permute, random_permutations
from hyperrep.zoo import Zoo


@dataclass
class TrainedRun:
    """A run folder's best model, normaliser, settings and metadata."""

    path: Path
    meta: dict
    config: RunConfig
    arch: Architecture
    model: HyperRepresentation
    normalizer: Normalizer

    def encode(
        self,
        weights: torch.Tensor | np.ndarray,
        batch_size: int = 1024,
        permutations: int = 1,
        seed: int = 0,
    ) -> torch.Tensor:
        """Latents (rows, L) of raw, unaugmented weight vectors (rows, n_params): a tensor
        or a numpy array (a zoo's `load_weights`).

        With `permutations` K > 1, each row's latent is the mean over K neuron
        permutations of its input: the identity and K - 1 drawn from `seed`, the same for
        every row, so a checkpoint's latent does not depend on the rows encoded with it.
        """
        if not isinstance(permutations, int) or permutations < 1:
            raise HyperrepError(f"permutations must be an integer >= 1, got {permutations!r}")
        weights = torch.as_tensor(
            np.asarray(weights) if not isinstance(weights, torch.Tensor) else weights
        ).float()
        generator = torch.Generator().manual_seed(seed)
        draws = [random_permutations(self.arch, 1, generator) for _ in range(permutations - 1)]
        self.model.eval()
        device = next(self.model.parameters()).device
        parts = []
        with torch.no_grad():
            for start in range(0, len(weights), batch_size):
                batch = weights[start : start + batch_size]
                total = self._encode(batch, device).double()
                for perms in draws:
                    total += self._encode(permute(self.arch, batch, perms), device).double()
                parts.append((total / permutations).float())
        if not parts:
            return torch.empty(0, self.config.model.latent_dim)
        return torch.cat(parts)

    def _encode(self, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
        return self.model.encode(self.normalizer.forward(batch.to(device))).cpu()

    def reconstruct(self, weights: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
        """Raw weight vectors decoded from the latents of `weights`."""
        return self.decode(self.encode(weights, batch_size), batch_size)

    def decode(self, latents: torch.Tensor | np.ndarray, batch_size: int = 1024) -> torch.Tensor:
        """Raw weight vectors (rows, n_params) decoded from latents (rows, L); the run
        needs a decoder (variants ED, E_cD)."""
        if not self.config.train.has_decoder:
            raise HyperrepError(f"{self.path} is an E_c run: it has no decoder to decode with")
        latents = torch.as_tensor(np.asarray(latents, np.float32))
        device = next(self.model.parameters()).device
        self.model.eval()
        with torch.no_grad():
            decoded = [self.model.decode(z.to(device)).cpu() for z in latents.split(batch_size)]
        if not decoded:
            return torch.empty(0, self.arch.n_params)
        return self.normalizer.inverse(torch.cat(decoded))


def load_run(path: str | Path, device: str = "cpu") -> TrainedRun:
    """Open a run folder written by `train_representation` (safetensors, no pickle)."""
    check_device(device)
    path = Path(path)
    try:
        meta = folder.read_description(path)
    except (OSError, ValueError) as err:
        raise HyperrepError(f"{path} is not a hyperrep run (no readable run.json)") from err
    if not isinstance(meta, dict) or not {"config", "architecture"} <= meta.keys():
        raise HyperrepError(f"{path / folder.RUN_FILE} is not a hyperrep run description")
    if not (path / folder.MODEL_FILE).is_file():
        raise HyperrepError(f"{path} has no trained model yet (model.safetensors missing)")
    try:
        config = RunConfig.from_dict(meta["config"])
        arch = Architecture.from_dict(meta["architecture"])
    except HyperrepError:
        raise
    except Exception as err:  # any malformed field: a damaged run.json
        raise HyperrepError(
            f"{path / folder.RUN_FILE} is damaged ({type(err).__name__}: {str(err)[:100]})"
        ) from None
    try:
        tensors = folder.load_model_tensors(path)
    except Exception as err:  # safetensors raises its own error type for damaged files
        raise HyperrepError(
            f"{path / folder.MODEL_FILE} is unreadable ({str(err)[:100]}): the run is damaged"
        ) from None
    model = HyperRepresentation(arch, config.model, decoder=config.train.has_decoder)
    state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state)
        normalizer = Normalizer(tensors["normalizer.mean"], tensors["normalizer.std"])
    except (RuntimeError, KeyError) as err:
        first = str(err).strip().splitlines()[0][:120]
        raise HyperrepError(
            f"{path / folder.MODEL_FILE} does not fit the run's settings ({first})"
        ) from None
    if normalizer.mean.shape != (arch.n_params,) or normalizer.std.shape != (arch.n_params,):
        raise HyperrepError(
            f"{path / folder.MODEL_FILE} holds a normaliser of another architecture"
        )
    return TrainedRun(path, meta, config, arch, model.to(device), normalizer)


def embed_zoo(run: TrainedRun, zoo: Zoo) -> pd.DataFrame:
    """Properties, split and latent (columns z0..z{L-1}) of every healthy checkpoint,
    epoch 0 included."""
    if not zoo.architecture.same_layout(run.arch):
        raise HyperrepError(
            f"the run was trained on {run.arch.name}, the zoo holds {zoo.architecture.name}"
        )
    data = load_checkpoints(
        zoo,
        run.config.train.split_seed,
        include_init=True,
        weight_limit=run.config.train.weight_limit,
    )
    latents = run.encode(data.weights).numpy()
    columns = pd.DataFrame(
        latents.astype(np.float32), columns=[f"z{i}" for i in range(latents.shape[1])]
    )
    return pd.concat([data.table, columns], axis=1)


def reconstruction_r2(run: TrainedRun, zoo: Zoo, *, data: CheckpointData | None = None) -> float:
    """Reconstruction R^2 of the best model on the test split of `zoo` (raw weights).

    `data`, if given, is `zoo`'s checkpoints loaded with the run's split seed; otherwise
    the checkpoints the run learned from (with or without epoch 0).
    """
    if data is None:
        data = load_checkpoints(
            zoo,
            run.config.train.split_seed,
            include_init=run.config.train.include_init,
            weight_limit=run.config.train.weight_limit,
        )
    test = data.split("test")
    target = test
    if run.config.train.recon_target == "canonical":
        target = run.normalizer.inverse(canonicalize(run.arch, run.normalizer.forward(test)))
    return pooled_r2(run.reconstruct(test), target)
