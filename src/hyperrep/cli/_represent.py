"""`hyperrep train` and `hyperrep embed`: learn a hyper-representation, embed a zoo."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from hyperrep._errors import HyperrepError
from hyperrep.cli._common import add_models_argument, add_weight_limit_argument, open_zoo_models


def add_parsers(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="learn a hyper-representation of a zoo")
    train.add_argument("zoo", type=Path, help="zoo folder")
    train.add_argument("--out", type=Path, required=True, help="run folder (resumes if there)")
    add_models_argument(train)
    train.add_argument(
        "--variant",
        choices=["ec", "ed", "ecd"],
        default="ecd",
        help="ec: contrastive, ed: reconstruction, ecd: both (default)",
    )
    train.add_argument(
        "--compression",
        type=float,
        default=2.0,
        help="compression ratio c = n_params / latent size (default 2)",
    )
    train.add_argument("--preset", help="representation preset (default: the zoo's preset)")
    train.add_argument(
        "--epochs", type=int, help="representation training epochs (preset's otherwise)"
    )
    train.add_argument("--batch-size", type=int, help="checkpoints per training batch")
    train.add_argument("--lr", type=float, help="peak learning rate of AdamW")
    train.add_argument("--gamma", type=float, help="contrastive weight of E_cD")
    train.add_argument("--temperature", type=float, help="NT-Xent temperature")
    train.add_argument("--d-model", type=int, help="width of the transformer's tokens")
    train.add_argument("--heads", type=int, dest="n_heads", help="attention heads")
    train.add_argument("--blocks", type=int, dest="n_blocks", help="attention blocks")
    train.add_argument("--d-ff", type=int, help="feed-forward width of a block")
    train.add_argument("--dropout", type=float, help="dropout in the attention blocks")
    train.add_argument(
        "--latent-from",
        choices=["token", "all"],
        help="latent from the compression token (the authors; rank <= "
        "d_model) or from all encoder tokens",
    )
    train.add_argument(
        "--recon-loss",
        choices=["flat", "layer"],
        help="MSE over the vector, or the mean of per-layer MSEs",
    )
    train.add_argument("--recon-scale", type=float, help="factor on the reconstruction term")
    train.add_argument(
        "--recon-target",
        choices=["view", "augmented", "canonical"],
        help="reconstruct the permuted view, the encoder's (erased) input, "
        "or the view's canonical form",
    )
    train.add_argument(
        "--pool",
        type=int,
        dest="permutation_pool",
        metavar="N",
        help="draw permutations from a pool of N (0: fresh draws)",
    )
    train.add_argument("--erase-p", type=float, help="probability of random erasing")
    train.add_argument(
        "--erase-mode",
        choices=["block", "block-retry", "token"],
        help="random erasing of a contiguous block (block-retry: the "
        "authors' draw with retries) or of whole tokens",
    )
    train.add_argument("--schedule", choices=["cosine", "plateau"], help="learning-rate schedule")
    train.add_argument(
        "--selection",
        choices=["val_loss", "val_r2"],
        help="which epoch's model is kept as the best",
    )
    train.add_argument(
        "--normalize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise weights per layer (--no-normalize: raw weights, as the authors)",
    )
    train.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bfloat16 autocast on the CPU (faster; default fp32)",
    )
    train.add_argument(
        "--include-init", action="store_true", help="learn from epoch 0 (the initialisation) too"
    )
    train.add_argument("--seed", type=int, help="seed of initialisation and augmentation")
    add_weight_limit_argument(train, "the preset's: none")
    train.add_argument(
        "--behaviour-weight",
        type=float,
        metavar="W",
        help="add W times a behavioural term: the KL divergence from each original's "
        "outputs to its decoded network's on a fixed batch of training inputs (default 0: off)",
    )
    train.add_argument(
        "--behaviour-inputs",
        type=int,
        metavar="B",
        help="training inputs in that batch (default 64)",
    )
    train.add_argument(
        "--behaviour-pool",
        type=int,
        metavar="P",
        help="draw each step's B inputs afresh from P training inputs (default 0: the same "
        "B inputs every step)",
    )
    train.add_argument(
        "--data-dir", type=Path, help="folder with the MNIST / Fashion-MNIST files (behaviour)"
    )
    train.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=run_train)

    embed = commands.add_parser("embed", help="latents of every checkpoint of a zoo")
    embed.add_argument("run_dir", type=Path, metavar="RUN", help="run folder")
    embed.add_argument("zoo", type=Path, help="zoo folder (same architecture)")
    embed.add_argument("--out", type=Path, required=True, help="output .parquet file")
    add_models_argument(embed)
    embed.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    embed.set_defaults(run=run_embed)


def run_train(args: argparse.Namespace) -> int:
    from hyperrep.representation import (
        REPRESENTATION_PRESETS,
        ranks_from_env,
        representation_preset,
        selection_score,
        train_representation,
    )

    zoo = open_zoo_models(args.zoo, args.models)
    config = (
        REPRESENTATION_PRESETS.create(args.preset)
        if args.preset
        else representation_preset(zoo.config.preset)
    )
    config = config.with_compression(zoo.architecture.n_params, args.compression)
    train_keys = (
        "variant",
        "epochs",
        "batch_size",
        "lr",
        "gamma",
        "temperature",
        "recon_loss",
        "recon_scale",
        "recon_target",
        "permutation_pool",
        "erase_p",
        "erase_mode",
        "schedule",
        "selection",
        "seed",
        "weight_limit",
        "behaviour_weight",
        "behaviour_inputs",
        "behaviour_pool",
    )
    train_overrides = {k: getattr(args, k) for k in train_keys}
    if args.normalize is not None:
        train_overrides["normalize"] = args.normalize
    if args.include_init:
        train_overrides["include_init"] = True
    if args.bf16 is not None:
        train_overrides["cpu_bf16"] = args.bf16
    model_keys = ("d_model", "n_heads", "n_blocks", "d_ff", "dropout", "latent_from")
    model_overrides = {k: getattr(args, k) for k in model_keys}
    config = replace(
        config,
        train=replace(config.train, **{k: v for k, v in train_overrides.items() if v is not None}),
        model=replace(config.model, **{k: v for k, v in model_overrides.items() if v is not None}),
    )
    history = train_representation(
        zoo, config, args.out, device=args.device, progress=not args.quiet, data_dir=args.data_dir
    )
    if not ranks_from_env().main:  # under torchrun: rank 0 reports
        return 0
    last = history[-1]
    best = max(history, key=lambda h: selection_score(config, h))
    print(f"trained {len(history)} epochs; last: {_fmt(last)}; best: {_fmt(best)}")
    if config.train.has_decoder:
        from hyperrep.representation import load_run, reconstruction_r2

        r2 = reconstruction_r2(load_run(args.out), zoo)
        print(f"test reconstruction R² of the best model: {100 * r2:.1f}%")
    print(f"run written to {args.out}")
    return 0


def _fmt(metrics: dict) -> str:
    shown = {k: v for k, v in metrics.items() if k == "epoch" or k.startswith("val")}
    return ", ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items()
    )


def run_embed(args: argparse.Namespace) -> int:
    from hyperrep.representation import embed_zoo, load_run

    table = embed_zoo(load_run(args.run_dir, args.device), open_zoo_models(args.zoo, args.models))
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(args.out, index=False)
    except OSError as err:
        raise HyperrepError(f"cannot write {args.out}: {err.strerror or err}") from err
    latent = sum(c.startswith("z") and c[1:].isdigit() for c in table.columns)
    print(f"wrote {len(table)} latents of size {latent} to {args.out}")
    return 0
