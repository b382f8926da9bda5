"""`hyperrep sample`: new models decoded from latents drawn like the zoo's training models'."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample",
        help="generate new models from a hyper-representation (S_U, S_KDE, S_KDE30)",
        description="Encode the training split's late checkpoints of ZOO with RUN, draw N "
        "new latents (uniform: in their box; kde: a 1-D Gaussian KDE per dimension; kde30: "
        "the KDE of the checkpoints at or above the 70th percentile of test accuracy), "
        "decode them and write each as a state_dict (.safetensors and .pt) with a "
        "manifest; their test accuracy as they are is measured on the zoo's test set.",
    )
    sample.add_argument("run_folder", type=Path, metavar="RUN", help="run folder (ED or E_cD)")
    sample.add_argument("zoo", type=Path, metavar="ZOO", help="the zoo the run learned from")
    sample.add_argument("--n", type=int, default=100, help="number of samples (default 100)")
    sample.add_argument(
        "--method", default="kde30", help="uniform, kde or kde30 (default %(default)s)"
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
    sample.set_defaults(run=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from hyperrep.representation import load_run
    from hyperrep.sampling import evaluate_samples, sample_models, save_samples
    from hyperrep.zoo import open_zoo

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
    return 0
