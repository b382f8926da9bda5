#!/usr/bin/env bash
# Device check for a lent GPU machine: run from the repo root with MNIST files in
# $MNIST_DIR. Checks that CUDA training equals the plain loop and times both.
set -u
export PYTHONPATH=src
MNIST_DIR=${MNIST_DIR:-../shared/data/mnist}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
echo "== tetris-seed: population vs plain loop, 200 models x 2 epochs, cuda"
python3 benchmarks/zoo_population.py --device cuda --models 200 --epochs 2
echo "== mnist-seed: population vs plain loop, 16 models x 1 epoch, 10k images, cuda"
python3 benchmarks/zoo_population.py --device cuda --preset mnist-seed --models 16 --epochs 1 \
    --train-subset 10000 --data-dir "$MNIST_DIR"
echo "== full tetris-seed zoo on cuda"
rm -rf /tmp/z && /usr/bin/time -f "wall %e s" python3 -m hyperrep.cli.main zoo create tetris-seed \
    --out /tmp/z --device cuda --quiet | tail -4
echo "== cpu vs cuda zoo, mnist-hyp-5-rand-seed, 8 models x 1 epoch (dropout on)"
python3 - "$MNIST_DIR" <<'PY'
import sys, numpy as np
from hyperrep.zoo import create_zoo, create_zoo_config
cfg = create_zoo_config("mnist-hyp-5-rand-seed", n_models=8, epochs=1, train_subset=2000, test_subset=500)
a = create_zoo(cfg, "/tmp/zc", device="cpu", data_dir=sys.argv[1], progress=False)
b = create_zoo(cfg, "/tmp/zg", device="cuda", data_dir=sys.argv[1], progress=False)
d = np.abs(np.asarray(a.weights) - np.asarray(b.weights)).max()
acc = np.abs(a.properties.test_acc.values - b.properties.test_acc.values).max()
print(f"cpu vs cuda: max |w| diff {d:.2e}, max test acc diff {acc:.2e}")
PY
echo "== representation on cuda: 200-model Tetris zoo, E_cD 2 epochs, then embed"
python3 -m hyperrep.cli.main zoo create tetris-seed --models 200 --out /tmp/zr --device cuda --quiet | tail -1
/usr/bin/time -f "wall %e s" python3 -m hyperrep.cli.main train /tmp/zr --out /tmp/rr --variant ecd \
    --epochs 2 --device cuda --quiet | tail -2
python3 -m hyperrep.cli.main embed /tmp/rr /tmp/zr --out /tmp/rr/latents.parquet --device cuda
