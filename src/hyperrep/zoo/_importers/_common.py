"""What every importer shares: the registry of formats and the chunked writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from hyperrep._registry import Registry
from hyperrep._version import __version__
from hyperrep.arch import Architecture
from hyperrep.zoo._config import ZooConfig
from hyperrep.zoo._storage import ZooWriter
from hyperrep.zoo._zoo import Zoo

IMPORTERS: Registry[Callable[..., Zoo]] = Registry("zoo format")
_CHUNK_MODELS = 256
_CHUNK_BYTES = 2**30  # a chunk's weights are held in memory while it is written


def health_columns(block: np.ndarray, present: np.ndarray) -> dict[str, object]:
    """The columns that say which of a model's checkpoints to learn from: `missing` (per
    epoch: the source has no checkpoint there; stored as zeros, left out of data sets),
    `diverged` (the model has a non-finite checkpoint) and `diverged_epoch` (the first one,
    -1 if none). A model missing a step keeps the checkpoints it has."""
    bad = present & ~np.isfinite(block).all(axis=1)
    return {
        "missing": ~present,
        "diverged": bool(bad.any()),
        "diverged_epoch": np.int64(int(np.argmax(bad)) if bad.any() else -1),
    }


def write_imported(
    out: Path,
    config: ZooConfig,
    arch: Architecture,
    n_models: int,
    model: Callable[[int], tuple[np.ndarray, pd.DataFrame]],
    progress: bool,
) -> Zoo:
    """Write an imported zoo chunk by chunk: `model(i)` gives model i's weights (epochs + 1,
    n_params) and property rows. A killed import resumes at the first unfinished chunk."""
    per_model = 4 * (config.epochs + 1) * arch.n_params
    size = max(1, min(_CHUNK_MODELS, _CHUNK_BYTES // per_model))  # ResNet-18: one model
    chunks = [list(range(i, min(i + size, n_models))) for i in range(0, n_models, size)]
    writer = ZooWriter.open(out, config, arch, chunks, __version__)
    with tqdm(total=n_models, unit="model", desc="import", disable=not progress) as bar:
        for chunk, rows in enumerate(chunks):
            if chunk not in writer.done:
                blocks, tables = zip(*(model(i) for i in rows), strict=True)
                block = np.stack(blocks)
                for epoch in range(block.shape[1]):
                    writer.write_weights(rows, epoch, block[:, epoch])
                writer.commit_chunk(chunk, pd.concat(tables, ignore_index=True))
            bar.update(len(rows))
    zoo = Zoo(out)
    summary = zoo.summary()
    writer.finish({"models": summary["models_done"], "diverged": summary["diverged"]})
    return Zoo(out)
