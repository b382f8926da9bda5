#!/usr/bin/env bash
# What a lent GPU is for, in minutes: speed against this machine's CPU, and CPU == GPU
# agreement, for zoo training and representation training.
#
#   OUT=gpu-check DATA_DIR=../shared/data bash benchmarks/gpu_check.sh
#
# Writes two files: $OUT/summary.txt (the one-screen summary it prints) and
# $OUT/check.tar.gz (the full log and machine description). Knobs (environment):
#   SIZE     scales every model count (default 1: 200 Tetris MLPs, 32 MNIST CNNs);
#            TETRIS_MODELS and CNN_MODELS set them directly
#   DEVICE   cuda (default) or cpu (a dry run of this script: the comparisons are then
#            CPU against CPU)
#   PYTHON   the interpreter with hyperrep installed (default python3)
#   SUBSET   MNIST training images per check (default 10000)
set -euo pipefail
OUT=${OUT:?set OUT to the folder for the results}
DATA_DIR=${DATA_DIR:-../shared/data}
SIZE=${SIZE:-1}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
SUBSET=${SUBSET:-10000}
WORK=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-src}
LOG="$WORK/check.log"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
hyperrep() { "$PYTHON" -m hyperrep.cli.main "$@"; }
say() { echo "$*" | tee -a "$SUMMARY"; }
seconds() {  # the wall time of a command, its output to the log
    local t0
    t0=$(date +%s.%N)
    "$@" >> "$LOG" 2>&1
    awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

{
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    fi
    "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    nproc
} > "$WORK/machine.txt"
say "gpu check on $DEVICE, SIZE $SIZE: $(head -1 "$WORK/machine.txt")"

tetris=${TETRIS_MODELS:-$((200 * SIZE))}
cnns=${CNN_MODELS:-$((32 * SIZE))}
say "== population trainer vs plain loop on $DEVICE (same models, must agree)"
"$PYTHON" benchmarks/zoo_population.py --device "$DEVICE" --models "$tetris" --epochs 2 \
    2>&1 | tee -a "$LOG" | grep -E "agreement|speed-up" | sed "s/^/tetris-seed $tetris x 2: /" \
    | tee -a "$SUMMARY"
"$PYTHON" benchmarks/zoo_population.py --device "$DEVICE" --preset mnist-seed --models "$cnns" \
    --epochs 1 --train-subset "$SUBSET" --test-subset 2000 --data-dir "$DATA_DIR/mnist" 2>&1 \
    | tee -a "$LOG" | grep -E "agreement|speed-up" | sed "s/^/mnist-seed $cnns x 1: /" \
    | tee -a "$SUMMARY"

say "== zoo builds, $DEVICE against cpu (wall seconds, same command)"
for dev in cpu "$DEVICE"; do
    t=$(seconds hyperrep zoo create mnist-seed --models "$cnns" --epochs 1 --train-subset \
        "$SUBSET" --test-subset 2000 --data-dir "$DATA_DIR/mnist" --device "$dev" \
        --out "$WORK/zoo-$dev" --quiet)
    say "mnist-seed $cnns models x 1 epoch on $dev: $t s"
done
t=$(seconds hyperrep zoo create mnist-seed --models "$cnns" --epochs 1 --train-subset \
    "$SUBSET" --test-subset 2000 --data-dir "$DATA_DIR/mnist" --device "$DEVICE" \
    --precision bf16 --out "$WORK/zoo-$DEVICE-bf16" --quiet)
say "mnist-seed $cnns models x 1 epoch on $DEVICE, --precision bf16: $t s"

say "== cpu == $DEVICE: a zoo with dropout, 8 models x 1 epoch"
"$PYTHON" "$(dirname "$0")/cpu_vs_device.py" "$DATA_DIR/mnist" "$DEVICE" "$WORK" 2>>"$LOG" \
    | tee -a "$SUMMARY"

say "== representation training, E_cD 2 epochs on a $tetris-model Tetris zoo"
hyperrep zoo create tetris-seed --models "$tetris" --out "$WORK/tz" --quiet >> "$LOG" 2>&1
for dev in cpu "$DEVICE"; do
    t=$(seconds hyperrep train "$WORK/tz" --out "$WORK/run-$dev" --variant ecd --epochs 2 \
        --device "$dev" --quiet)
    say "train on $dev: $t s"
done
"$PYTHON" - "$WORK" "$DEVICE" <<'PY' 2>>"$LOG" | tee -a "$SUMMARY"
import sys
from hyperrep.representation import load_run
from hyperrep.zoo import open_zoo
work, device = sys.argv[1:]
zoo = open_zoo(f"{work}/tz")
weights = zoo.load_weights(zoo.checkpoints())
a = load_run(f"{work}/run-cpu").encode(weights)
b = load_run(f"{work}/run-{device}").encode(weights)
print(f"latents of the two runs: max |z_cpu - z_{device}| {float((a - b).abs().max()):.2e}")
PY

tar -czf "$OUT/check.tar.gz" -C "$WORK" check.log machine.txt
rm -rf "$WORK"
echo "results in $OUT (summary.txt, check.tar.gz)"
