#!/usr/bin/env bash
# Issue 33 on one CUDA GPU within a deadline (optional; nothing needs a GPU): MNIST-SEED
# and FASHION-SEED zoos, the CNN recipe's E_cD run with and without the behavioural
# term, decoded accuracy, S_KDE30 and B_KDE30 samples fine-tuned on MNIST, S_KDE30
# fine-tuned on Fashion-MNIST (transfer), and the two runs' probe report.
#
#   OUT=gpu-generate DATA_DIR=../shared/data bash benchmarks/gpu_generate.sh
#
# DATA_DIR holds mnist/ and fashion-mnist/. Steps start as soon as what they read is
# there (zoos in parallel, then both runs in parallel, then decode / sample / evaluate);
# at DEADLINE seconds whatever still runs is stopped and what finished is packed.
# Writes $OUT/summary.txt (what it prints) and $OUT/results.tar.gz (logs, zoo info,
# decode tables, sample manifests and plots, the report's tables, runs' histories).
# Knobs (environment variables):
#   MODELS       models per zoo (default 288)
#   RUN_EPOCHS   epochs of each representation run (default 60, the CNN recipe's)
#   FINETUNE     fine-tuning epochs of the samples (default 5)
#   N_SAMPLES    samples per method (default 100)
#   TRANSFER     1 (default): build FASHION-SEED too and fine-tune samples on it; 0: not
#   PROBE_SPEED  1 (default): also time one epoch of a HYP_MODELS-model MNIST-HYP zoo (default
#                288) on 5,000 images, the speed a HYP zoo builds at on this device
#   DEADLINE     seconds after which running steps are stopped (default 500)
#   TAIL         seconds kept for decoding and sampling: a run still training at
#                DEADLINE - TAIL is stopped there and its best epoch so far is used
#                (default 150; its epochs are in the summary)
#   DEVICE       cuda (default) or cpu (a dry run of this script)
#   PYTHON, WORK as in gpu_table6.sh
set -uo pipefail
OUT=${OUT:?set OUT to the folder for the results}
DATA_DIR=${DATA_DIR:-../shared/data}
MODELS=${MODELS:-288}
RUN_EPOCHS=${RUN_EPOCHS:-60}
FINETUNE=${FINETUNE:-5}
N_SAMPLES=${N_SAMPLES:-100}
TRANSFER=${TRANSFER:-1}
PROBE_SPEED=${PROBE_SPEED:-1}
HYP_MODELS=${HYP_MODELS:-288}
DEADLINE=${DEADLINE:-500}
TAIL=${TAIL:-150}
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
WORK=${WORK:-$(mktemp -d)}
PACK=$(mktemp -d)
mkdir -p "$OUT" "$PACK/logs" "$WORK"
export PYTHONPATH=${PYTHONPATH:-src} PYTHONUNBUFFERED=1
SUMMARY="$OUT/summary.txt"
EVENTS="$PACK/events.txt"
: > "$SUMMARY"
: > "$EVENTS"
START=$(date +%s)
hyperrep() { "$PYTHON" -m hyperrep.cli.main "$@"; }
say() { echo "$*" | tee -a "$SUMMARY"; }
elapsed() { echo $(($(date +%s) - START)); }
# step NAME COMMAND...: run it with its output in logs/NAME.log, record its wall time
step() {
    local name=$1 t0
    shift
    t0=$(date +%s)
    if "$@" > "$PACK/logs/$name.log" 2>&1; then
        echo "$name: $(($(date +%s) - t0)) s (done at $(elapsed) s)" >> "$EVENTS"
    else
        echo "$name: FAILED after $(($(date +%s) - t0)) s" >> "$EVENTS"
        return 1
    fi
}
done_step() { grep -q "^$1: [0-9]" "$EVENTS"; }
ready() { done_step "$1" || grep -q "^$1 stopped" "$EVENTS"; }  # a run: finished or cut

{
    date -u +"start %Y-%m-%dT%H:%M:%SZ"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    echo "cores $(nproc)"
} > "$PACK/machine.txt" 2>&1
say "gpu_generate on $DEVICE: $(tr '\n' ' ' < "$PACK/machine.txt")"
say "models $MODELS, run epochs $RUN_EPOCHS, fine-tuning $FINETUNE epochs, $N_SAMPLES samples, deadline $DEADLINE s"

Z=$WORK/mnist-seed
F=$WORK/fashion-seed
W0=$WORK/runs/ecd-w0
W30=$WORK/runs/ecd-w30
# the CNN recipe's run (docs/results.md), bf16 autocast on CUDA; W30 adds the term
RUN_ARGS=(--variant ecd --compression 3.52 --epochs "$RUN_EPOCHS" --gamma 0.1 --normalize
    --recon-target augmented --pool 25000 --erase-mode block-retry --batch-size 32
    --d-model 128 --d-ff 512 --device "$DEVICE" --quiet)
SAMPLE_ARGS=(--n "$N_SAMPLES" --data-dir "$DATA_DIR" --device "$DEVICE")

pids=()
bg() { "$@" & pids+=($!); }
bg step zoo-mnist hyperrep --threads 2 zoo create mnist-seed --models "$MODELS" \
    --device "$DEVICE" --data-dir "$DATA_DIR" --out "$Z"
if [[ $TRANSFER == 1 ]]; then
    bg step zoo-fashion hyperrep --threads 2 zoo create fashion-seed --models "$MODELS" \
        --device "$DEVICE" --data-dir "$DATA_DIR" --out "$F"
fi
if [[ $PROBE_SPEED == 1 ]]; then
    bg step hyp-speed hyperrep --threads 2 zoo create mnist-hyp-5-rand-seed --models "$HYP_MODELS" \
        --epochs 1 --train-subset 5000 --test-subset 1000 --device "$DEVICE" \
        --data-dir "$DATA_DIR" --out "$WORK/hyp-speed"
fi

# CPU == GPU: 8 models with dropout and both optimizers, 1 epoch on 2,000 images
bg step cpu-vs-device "$PYTHON" "$(dirname "$0")/cpu_vs_device.py" "$DATA_DIR" "$DEVICE" "$WORK"

started=" "
start_once() {  # start_once NAME COMMAND...: start a step (in the background) once
    [[ $started == *" $1 "* ]] && return
    started+="$1 "
    bg step "$@"
}
while (($(elapsed) < DEADLINE)); do
    if done_step zoo-mnist; then
        start_once run-w0 hyperrep --threads 2 train "$Z" --out "$W0" "${RUN_ARGS[@]}"
        start_once run-w30 hyperrep --threads 2 train "$Z" --out "$W30" "${RUN_ARGS[@]}" \
            --behaviour-weight 30 --behaviour-inputs 64 --data-dir "$DATA_DIR"
    fi
    for w in w0 w30; do
        run=$WORK/runs/ecd-$w
        if (($(elapsed) >= DEADLINE - TAIL)) && [[ $started == *" run-$w "* ]] \
            && ! ready "run-$w" && ! grep -q "^run-$w: FAILED" "$EVENTS"; then
            pkill -TERM -f "train $Z --out $run" 2>/dev/null  # background jobs ignore INT
            while pgrep -f "train $Z --out $run" > /dev/null; do sleep 1; done
            echo "run-$w stopped at $(elapsed) s: $(grep -c '"epoch"' "$run/history.json" 2>/dev/null) epochs in history.json" >> "$EVENTS"
        fi
        ready "run-$w" || continue
        start_once "decode-$w" hyperrep --threads 3 decode "$run" "$Z" --data-dir "$DATA_DIR" \
            --out "$WORK/decode-$w.csv"
        start_once "kde30-$w" hyperrep --threads 2 sample "$run" "$Z" --method kde30 \
            --finetune "$FINETUNE" --out "$WORK/samples/kde30-$w" "${SAMPLE_ARGS[@]}"
        if done_step zoo-fashion; then
            start_once "transfer-$w" hyperrep --threads 2 sample "$run" "$Z" --method kde30 \
                --finetune "$FINETUNE" --finetune-on "$F" --out "$WORK/samples/transfer-$w" \
                "${SAMPLE_ARGS[@]}"
        fi
    done
    if ready run-w0; then
        start_once bkde30 hyperrep --threads 2 sample "$W0" "$Z" --method weights-kde30 \
            --finetune "$FINETUNE" --out "$WORK/samples/bkde30" "${SAMPLE_ARGS[@]}"
    fi
    if ready run-w0 && ready run-w30; then
        start_once report hyperrep --threads 4 evaluate "$W0" "$W30" "$Z" --out "$WORK/report" \
            --umap-points 0 --quiet
    fi
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive == 0)) && break
    sleep 3
done
say "== stopped at $(elapsed) s"
# stop this script's own steps only (each step's command is a child of its subshell)
for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null; done  # written atomically: safe
sleep 3
for p in "${pids[@]}"; do pkill -KILL -P "$p" 2>/dev/null; done
wait 2>/dev/null
say "== steps (wall seconds)"
tee -a "$SUMMARY" < "$EVENTS"
for zoo in "$Z" "$F" "$WORK/hyp-speed"; do
    [[ -d $zoo ]] || continue
    say "== zoo info $(basename "$zoo")"
    hyperrep zoo info "$zoo" 2>&1 | tee "$PACK/$(basename "$zoo")-zoo-info.txt" | tee -a "$SUMMARY"
done
for log in "$PACK"/logs/*.log; do  # the last line of each (progress bars: the last rate)
    say "-- $(basename "$log" .log): $(tr '\r' '\n' < "$log" | grep -v '^\s*$' | tail -1 | cut -c1-160)"
done
for name in cpu-vs-device decode-w0 decode-w30 kde30-w0 kde30-w30 bkde30 transfer-w0 transfer-w30 report; do
    [[ -f $PACK/logs/$name.log ]] || continue
    say "== $name"
    tr '\r' '\n' < "$PACK/logs/$name.log" | grep -vE '^\s*$|it/s|s/it' | tail -25 | tee -a "$SUMMARY"
done
mkdir -p "$PACK/files"
cp "$WORK"/decode-*.csv "$PACK/files/" 2>/dev/null
for d in "$WORK"/samples/*/; do
    [[ -d $d ]] || continue
    for f in "$d"*.json "$d"*.png; do
        [[ -f $f ]] && cp "$f" "$PACK/files/$(basename "$d")-$(basename "$f")"
    done
done
for run in "$W0" "$W30"; do
    [[ -f $run/history.json ]] && cp "$run/history.json" "$PACK/files/$(basename "$run")-history.json"
done
find "$WORK/report" -maxdepth 1 -type f \( -name '*.md' -o -name '*.csv' \) -size -4M \
    -exec cp {} "$PACK/files/" \; 2>/dev/null
tar -czf "$OUT/results.tar.gz" -C "$PACK" .
say "packed at $(elapsed) s"
