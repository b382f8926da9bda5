"""`hyperrep sample`: new models decoded from latents drawn like the zoo's training
models'; `hyperrep decode`: how well the run's decoded checkpoints work."""

from __future__ import annotations

import argparse
from pathlib import Path

from hyperrep._errors import HyperrepError


def add_parsers(commands: argparse._SubParsersAction) -> None:
    _add_sample(commands)
    decode = commands.add_parser(
        "decode",
        help="test accuracy of a run's decoded checkpoints next to the originals'",
        description="Encode and decode every checkpoint of a split of ZOO with RUN and "
        "measure the decoded network's test accuracy next to the original's, both on the "
        "zoo's test set.",
    )
    decode.add_argument("run_folder", type=Path, metavar="RUN", help="run folder (ED or E_cD)")
    decode.add_argument("zoo", type=Path, metavar="ZOO", help="the zoo the run learned from")
    decode.add_argument("--split", default="test", help="train, val or test (default test)")
    decode.add_argument("--epochs", type=int, nargs="+", metavar="E", help="default: all")
    decode.add_argument("--out", type=Path, help="also write the per-checkpoint table (.csv)")
    decode.add_argument("--data-dir", type=Path, help="folder with the MNIST / Fashion-MNIST files")
    decode.set_defaults(run=run_decode)


def run_decode(args: argparse.Namespace) -> int:
    import numpy as np

    from hyperrep.representation import load_run
    from hyperrep.sampling import decoded_accuracy
    from hyperrep.zoo import open_zoo

    if args.out is not None and args.out.suffix != ".csv":
        raise HyperrepError(f"--out must end in .csv, got {args.out.name}")
    table = decoded_accuracy(
        load_run(args.run_folder),
        open_zoo(args.zoo),
        split=args.split,
        epochs=args.epochs,
        data_dir=args.data_dir,
    )
    gap = 100 * table["gap"].to_numpy()
    print(
        f"{len(table)} {args.split} checkpoints of {table['model_id'].nunique()} models: "
        f"median test accuracy {100 * table['test_acc'].median():.1f} original, "
        f"{100 * table['decoded_acc'].median():.1f} decoded; decoded - original, median "
        f"{np.median(gap):+.1f} points (25% {np.percentile(gap, 25):+.1f}, 75% "
        f"{np.percentile(gap, 75):+.1f}); within 1 point: {np.mean(np.abs(gap) <= 1):.0%}"
    )
    if args.out is not None:
        table.to_csv(args.out, index=False)
        print(f"written to {args.out}")
    return 0


def _add_sample(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample",
        help="generate new models from a hyper-representation (S_U, S_KDE, S_KDE30)",
        description="Encode the training split's late checkpoints of ZOO with RUN, draw N "
        "new latents (uniform: in their box; kde: a 1-D Gaussian KDE per dimension; kde30: "
        "the KDE of the checkpoints at or above the 70th percentile of test accuracy), "
        "decode them and write each as a state_dict (.safetensors and .pt) with a "
        "manifest; their test accuracy as they are is measured on the zoo's test set, and "
        "their distance to the nearest training checkpoint next to the distances between "
        "the training models. weights-kde30 is the baseline B_KDE30: kde30's KDE on the "
        "weights themselves, RUN used only for its split.",
    )
    sample.add_argument("run_folder", type=Path, metavar="RUN", help="run folder (ED or E_cD)")
    sample.add_argument("zoo", type=Path, metavar="ZOO", help="the zoo the run learned from")
    sample.add_argument("--n", type=int, default=100, help="number of samples (default 100)")
    sample.add_argument(
        "--method",
        default="kde30",
        help="uniform, kde, kde30 or weights-kde30 (default %(default)s)",
    )
    sample.add_argument("--out", type=Path, required=True, help="folder for the samples")
    sample.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    sample.add_argument(
        "--epochs",
        type=int,
        nargs="+",
        metavar="E",
        help="the source checkpoints' epochs (default: the zoo's last five)",
    )
    sample.add_argument(
        "--percentile",
        type=float,
        help="keep source checkpoints at or above this percentile of test accuracy "
        "(default: 70 for kde30, none otherwise)",
    )
    sample.add_argument(
        "--activation", help="the samples' nonlinearity (default: the zoo's, if it has one)"
    )
    sample.add_argument("--data-dir", type=Path, help="folder with the MNIST / Fashion-MNIST files")
    sample.add_argument(
        "--no-evaluate", action="store_true", help="do not measure the samples' test accuracy"
    )
    sample.add_argument(
        "--finetune",
        type=int,
        metavar="E",
        help="also train the samples E epochs with the zoo's recipe and record their test "
        "accuracy after each (a seed zoo's recipe; the zoo's own models beside them)",
    )
    sample.add_argument(
        "--finetune-on",
        type=Path,
        metavar="ZOO2",
        help="fine-tune with another zoo's recipe and data instead (transfer: a seed zoo of "
        "the same architecture, e.g. FASHION-SEED for samples of MNIST-SEED); its own "
        "models are the baseline",
    )
    sample.add_argument(
        "--device", default="cpu", help="where --finetune trains: cpu or cuda (default cpu)"
    )
    sample.set_defaults(run=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from hyperrep._device import check_device
    from hyperrep.representation import load_run
    from hyperrep.sampling import (
        evaluate_samples,
        finetune_samples,
        sample_diversity,
        sample_models,
        save_samples,
    )
    from hyperrep.zoo import open_zoo

    check_device(args.device)  # before anything is sampled or written

    run, zoo = load_run(args.run_folder), open_zoo(args.zoo)
    samples = sample_models(
        run,
        zoo,
        args.n,
        method=args.method,
        seed=args.seed,
        epochs=args.epochs,
        percentile=args.percentile,
        activation=args.activation,
    )
    if not args.no_evaluate:
        evaluate_samples(samples, zoo, data_dir=args.data_dir)
    if args.finetune_on is not None and args.finetune is None:
        raise HyperrepError("--finetune-on needs --finetune E")
    target = zoo
    if args.finetune_on is not None:
        target = open_zoo(args.finetune_on)
        if not target.architecture.same_layout(zoo.architecture):
            raise HyperrepError(f"{args.finetune_on} holds another architecture than {args.zoo}")
    if args.finetune is not None:
        samples.finetuned_acc = finetune_samples(
            samples, target, args.finetune, data_dir=args.data_dir, device=args.device
        )
        samples.meta["finetuned_on"] = {"zoo": str(target.path), "preset": target.config.preset}
    samples.diversity = sample_diversity(
        samples,
        zoo,
        split_seed=run.config.train.split_seed,
        weight_limit=run.config.train.weight_limit,
    )
    out = save_samples(samples, zoo, args.out)
    source = samples.source
    print(
        f"{len(samples.weights)} samples ({samples.method}, seed {samples.seed}) from "
        f"{source['checkpoints']} training checkpoints of {source['models']} models at "
        f"epochs {source['epochs'][0]}-{source['epochs'][-1]} -> {out}"
    )
    if samples.test_acc is not None:
        q = np.percentile(100 * samples.test_acc, [0, 25, 50, 75, 100])
        print(
            "test accuracy as sampled (min / 25% / median / 75% / max): "
            + " / ".join(f"{v:.1f}" for v in q)
        )
    d = samples.diversity
    print(
        f"distance to the nearest training checkpoint (median): {d['sample_nearest']:.3g}; "
        f"a training model's to the nearest other model's: {d['model_nearest']:.3g}; "
        f"between two training models: {d['model_pair']:.3g}; between two samples: "
        f"{d['sample_pair']:.3g}"
    )
    if samples.finetuned_acc is not None:
        from hyperrep.report import plot_finetuning
        from hyperrep.zoo import load_checkpoints

        table = load_checkpoints(
            target,
            run.config.train.split_seed,
            include_init=True,
            weight_limit=run.config.train.weight_limit,
        ).table
        baseline = table[table["split"] == "test"]
        _print_finetuning(samples.finetuned_acc, baseline)
        plot = plot_finetuning(samples.finetuned_acc, baseline, out / "finetuning.png")
        print(f"plot: {plot}")
    return 0


def _print_finetuning(accuracy, baseline) -> None:
    """Median test accuracy per epoch: the samples fine-tuned, and the zoo's own test-split
    models trained from their initialisation (B_T) at the same epochs."""
    import numpy as np

    zoo_models = baseline.groupby("epoch")["test_acc"].median()
    print("epoch | samples fine-tuned (median) | zoo's test models from their init (median)")
    for epoch in range(accuracy.shape[1]):
        own = zoo_models.get(epoch)
        theirs = f"{100 * own:.1f}" if own is not None else "-"
        print(f"{epoch:5d} | {100 * np.median(accuracy[:, epoch]):27.1f} | {theirs:>42}")
