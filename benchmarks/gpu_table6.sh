#!/usr/bin/env bash
# Appendix Table 6 (and Figure 10's OOD row) on one CUDA GPU in minutes (optional;
# nothing needs a GPU).
#
#   OUT=gpu-table6 DATA_DIR=../shared/data bash benchmarks/gpu_table6.sh
#
# Runs `hyperrep reproduce mnist-seed` on $DEVICE with MODELS models per zoo (MNIST-SEED
# and FASHION-SEED) and the recipe's E_cD run for RUN_EPOCHS epochs, then prints a
# one-screen summary. Writes two files: $OUT/summary.txt (what is printed) and
# $OUT/results.tar.gz (the logs, zoo summaries, timings, the report's tables and plots,
# the run's history). Zoos and runs stay in a scratch folder, removed at the end unless
# WORK names one. Knobs (environment variables):
#   MODELS        models per zoo (default 200; the paper's zoos have 1,000)
#   RUN_EPOCHS    epochs of the representation run (default 20; the recipe's full run: 60)
#   PERMUTATIONS  input permutations the averaged latent is the mean over (default 16)
#   DEVICE        cuda (default) or cpu (a dry run of this script)
#   PYTHON        the interpreter with hyperrep installed (default python3)
#   WORK          scratch folder (default: a new temporary folder)
# Sizes: on an H200 (2026-12-04) a seed zoo trained at about 2.9 model-epochs/s
# (docs/scale.md), so the default 200-model zoos alone take about 30 minutes each: over
# one session's device time until the CUDA step is faster. MODELS / RUN_EPOCHS scale the
# time about linearly.
set -euo pipefail
OUT=${OUT:?set OUT to the folder for the results}
DATA_DIR=${DATA_DIR:-../shared/data}
MODELS=${MODELS:-200}
RUN_EPOCHS=${RUN_EPOCHS:-20}
PERMUTATIONS=${PERMUTATIONS:-16}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
KEEP_WORK=${WORK:+1}
WORK=${WORK:-$(mktemp -d)}
PACK=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-src}
hyperrep() { "$PYTHON" -m hyperrep.cli.main "$@"; }

{
    date -u +"start %Y-%m-%dT%H:%M:%SZ"
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    fi
    "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} > "$PACK/machine.txt"

start=$(date +%s)
hyperrep reproduce mnist-seed --out "$WORK" --models "$MODELS" --run-epochs "$RUN_EPOCHS" \
    --permutation-average "$PERMUTATIONS" --device "$DEVICE" --data-dir "$DATA_DIR" \
    --quiet > "$PACK/reproduce.log" 2>&1 || { tail -20 "$PACK/reproduce.log"; exit 1; }
wall=$(($(date +%s) - start))

hyperrep zoo info "$WORK/zoo" > "$PACK/mnist-seed-zoo-info.txt"
hyperrep zoo info "$WORK/ood-zoo" > "$PACK/fashion-seed-zoo-info.txt"
cp "$WORK/timings.json" "$PACK/"
mkdir -p "$PACK/report" "$PACK/run"
find "$WORK/report" -maxdepth 1 -type f \( -name '*.md' -o -name '*.csv' -o -name '*.png' \) \
    -size -8M -exec cp {} "$PACK/report/" \;
for run in "$WORK"/runs/*/; do
    cp "$run"/history.json "$PACK/run/" 2>/dev/null || true
done
tar -czf "$OUT/results.tar.gz" -C "$PACK" .

"$PYTHON" - "$WORK" "$MODELS" "$RUN_EPOCHS" "$DEVICE" "$wall" "$PACK/machine.txt" \
    > "$OUT/summary.txt" <<'PY'
import json, sys
from pathlib import Path
import pandas as pd
work, models, epochs, device, wall, machine = sys.argv[1:]
print(f"Table 6 on {device}: {models} models per zoo, E_cD {epochs} epochs, {wall} s in all")
print(Path(machine).read_text().strip())
timings = json.loads((Path(work) / "timings.json").read_text())
print("timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()
                                   if isinstance(v, (int, float))))
for name, title in (("results.csv", "MNIST-SEED (R^2 in %)"),
                    ("results_ood.csv", "trained on MNIST, tested on FASHION (Figure 10)")):
    path = Path(work) / "report" / name
    if path.is_file():
        table = pd.read_csv(path, index_col=0)
        rows = [r for r in ("Rec", "Eph", "Acc", "GGap") if r in table.index]
        print(f"\n{title}\n{table.loc[rows].to_string(float_format=lambda v: f'{v:.1f}')}")
PY
cat "$OUT/summary.txt"
rm -rf "$PACK"
[ -n "$KEEP_WORK" ] || rm -rf "$WORK"
echo "results in $OUT (summary.txt, results.tar.gz)"
