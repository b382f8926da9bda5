#!/usr/bin/env bash
# One-shot appendix Table 6 row and Figure 10 on one CUDA GPU (optional; nothing needs it).
#
#   OUT=gpu-results DATA_DIR=../shared/data bash benchmarks/gpu_table6.sh
#
# Runs `hyperrep reproduce mnist-seed` on CUDA: a 1,000-model MNIST-SEED zoo and a
# 1,000-model FASHION-SEED zoo (each one population of every model, its convolutions
# grouped), the recipe's E_cD run, and the probe report with W, s(W), E_cD, and
# Figure 10 (MNIST probes on FASHION). Zoos and runs stay in a scratch folder; only small
# files (tables, plots, JSON, logs) are written to $OUT. Knobs, as environment variables:
#   MODELS      models per zoo (default 1000)
#   RUN_EPOCHS  epochs of the representation run (default: the recipe's)
#   WORK        scratch folder (default: a new temporary folder, removed at the end)
#   DEVICE      cuda (default) or cpu, for a smoke test of this script
set -euo pipefail
OUT=${OUT:?set OUT to the folder for the results}
DATA_DIR=${DATA_DIR:-../shared/data}
MODELS=${MODELS:-1000}
DEVICE=${DEVICE:-cuda}
KEEP_WORK=${WORK:+1}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-src}
{
    date -u +"start %Y-%m-%dT%H:%M:%SZ"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} | tee "$OUT/machine.txt"

args=(reproduce mnist-seed --out "$WORK" --models "$MODELS" --device "$DEVICE"
      --data-dir "$DATA_DIR" --quiet)
[ -n "${RUN_EPOCHS:-}" ] && args+=(--run-epochs "$RUN_EPOCHS")
start=$(date +%s)
python3 -m hyperrep.cli.main "${args[@]}" 2>&1 | tee "$OUT/reproduce.log"
echo "wall $(($(date +%s) - start)) s" | tee -a "$OUT/reproduce.log"

python3 -m hyperrep.cli.main zoo info "$WORK/zoo" > "$OUT/mnist-seed-zoo-info.txt"
python3 -m hyperrep.cli.main zoo info "$WORK/ood-zoo" > "$OUT/fashion-seed-zoo-info.txt"
cp "$WORK/timings.json" "$OUT/"
mkdir -p "$OUT/report"
find "$WORK/report" -maxdepth 1 -type f \( -name '*.md' -o -name '*.csv' -o -name '*.json' \
    -o -name '*.png' \) -size -8M -exec cp {} "$OUT/report/" \;
for run in "$WORK"/runs/*/; do
    name=$(basename "$run")
    mkdir -p "$OUT/runs/$name"
    find "$run" -maxdepth 1 -type f \( -name '*.json' -o -name '*.csv' -o -name '*.png' \) \
        -size -8M -exec cp {} "$OUT/runs/$name/" \;
done
[ -n "$KEEP_WORK" ] || rm -rf "$WORK"
echo "results in $OUT"
