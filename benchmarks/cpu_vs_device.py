"""CPU == GPU for zoo training: 8 MNIST-HYP-5-RAND-SEED models (dropout, Adam and SGD)
trained 1 epoch on 2,000 images on the CPU and on DEVICE; prints the largest weight and
test accuracy differences (used by gpu_check.sh and gpu_generate.sh).

    python benchmarks/cpu_vs_device.py DATA_DIR DEVICE WORK
"""

import sys

import numpy as np

from hyperrep.zoo import create_zoo, create_zoo_config


def main() -> None:
    data, device, work = sys.argv[1:]
    cfg = create_zoo_config(
        "mnist-hyp-5-rand-seed", n_models=8, epochs=1, train_subset=2000, test_subset=500
    )
    a = create_zoo(cfg, f"{work}/cmp-cpu", device="cpu", data_dir=data, progress=False)
    b = create_zoo(cfg, f"{work}/cmp-{device}", device=device, data_dir=data, progress=False)
    w = np.abs(np.asarray(a.weights) - np.asarray(b.weights)).max()
    acc = np.abs(a.properties.test_acc.to_numpy() - b.properties.test_acc.to_numpy()).max()
    print(f"max |w_cpu - w_{device}| {w:.2e}, max test accuracy difference {acc:.2e}")


if __name__ == "__main__":
    main()
