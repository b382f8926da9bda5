#!/bin/bash
# Issue 14 ablations on the format-2 TETRIS-SEED zoo: E_cD, c = 2, 10 epochs each.
# Usage: experiments/representation_ablation.sh NAME...   (names below)
# The "cnn-*" rows are for MNIST-SEED (and FASHION-SEED): run them with
#   ZOO=zoos/mnist-seed MODELS=576 COMPRESSION=3.52 EPOCHS=60 PREFIX=abl-mnist \
#   OOD=zoos/fashion-seed experiments/representation_ablation.sh cnn-recipe
# (MODELS: learn from and probe the first N models of a zoo that is still growing;
# OOD: a zoo to probe out of distribution too, OOD_MODELS: its first N models only;
# PREFIX: of the run and report folders).
# "authors-*": the authors' objective and scale (d_model 256, batch 500, lr 1e-4, plateau);
# "objective-*": the authors' objective (raw weights, gamma 0.5, erased-input target,
# pool of 120, retried erasing) at our scale and schedule (d_model 128, lr 1e-3, cosine).
# Each run trains into runs/abl-NAME and writes its probe report to reports/abl-NAME.
set -e
ZOO=${ZOO:-zoos/tetris-seed}
EPOCHS=${EPOCHS:-10}
COMPRESSION=${COMPRESSION:-2}
MODELS_ARG=${MODELS:+--models $MODELS}
PREFIX=${PREFIX:-abl}
# the settings of the tetris-seed preset before issue 14, spelled out so that rows do not
# change with the preset
OURS="--gamma 0.01 --normalize --recon-target view --pool 0 --erase-mode block"
AUTHORS="$OURS --d-model 256 --d-ff 512 --gamma 0.5 --no-normalize --recon-target augmented \
  --pool 120 --erase-mode block-retry --schedule plateau --selection val_loss \
  --batch-size 500 --lr 1e-4"
# the tetris-seed preset since issue 14 (the row objective-normalized-gamma0.1-bf16)
PRESET="$OURS --gamma 0.1 --normalize --recon-target augmented --pool 120 \
  --erase-mode block-retry --bf16"
CNN="--gamma 0.1 --normalize --recon-target augmented --pool 25000 --erase-mode block-retry \
  --batch-size 32 --d-model 128 --d-ff 512 --bf16"
declare -A ARGS=(
  [ours]="$OURS --no-bf16"
  [ours-bf16]="$OURS --bf16"
  [authors-bf16]="$AUTHORS --bf16"
  [authors-lr1e-3-bf16]="$AUTHORS --lr 1e-3 --bf16"
  [authors-gamma0.1-bf16]="$AUTHORS --gamma 0.1 --bf16"
  [ec-bf16]="$OURS --variant ec --bf16"
  [objective-bf16]="$OURS --gamma 0.5 --no-normalize --recon-target augmented --pool 120 \
    --erase-mode block-retry --bf16"
  [gamma0.5-bf16]="$OURS --gamma 0.5 --bf16"
  # one factor of the authors' objective at a time
  [objective-normalized-bf16]="$OURS --gamma 0.5 --normalize --recon-target augmented \
    --pool 120 --erase-mode block-retry --bf16"
  [objective-view-bf16]="$OURS --gamma 0.5 --no-normalize --recon-target view --pool 120 \
    --erase-mode block-retry --bf16"
  [objective-fresh-bf16]="$OURS --gamma 0.5 --no-normalize --recon-target augmented \
    --pool 0 --erase-mode block-retry --bf16"
  # balancing the two terms again
  [objective-recon20-bf16]="$OURS --gamma 0.5 --no-normalize --recon-target augmented \
    --pool 120 --erase-mode block-retry --recon-scale 20 --bf16"
  [objective-normalized-gamma0.1-bf16]="$OURS --gamma 0.1 --normalize --recon-target augmented \
    --pool 120 --erase-mode block-retry --bf16"
  [objective-recon50-bf16]="$OURS --gamma 0.5 --no-normalize --recon-target augmented \
    --pool 120 --erase-mode block-retry --recon-scale 50 --bf16"
  [objective-normalized-gamma0.05-bf16]="$OURS --gamma 0.05 --normalize \
    --recon-target augmented --pool 120 --erase-mode block-retry --bf16"
  # the tetris-seed preset trained twice as long (the later --epochs wins)
  [preset-20ep-bf16]="$PRESET --epochs 20"
  # wider: the authors' Tetris width (d_model 256) and twice that; 2 blocks, 4 heads, d_ff 512
  [preset-d256-bf16]="$PRESET --d-model 256"
  [preset-d512-bf16]="$PRESET --d-model 512"
  [preset-d256-20ep-bf16]="$PRESET --d-model 256 --epochs 20"
  # CNN zoos: the mnist-seed / fashion-seed recipe (d_model 128, batch 32), then one change each
  [cnn-recipe]="$CNN"
  [cnn-raw]="$CNN --no-normalize"
  [cnn-gamma0.5]="$CNN --gamma 0.5"
  [cnn-batch256]="$CNN --batch-size 256"
  [cnn-d256]="$CNN --d-model 256"
  [cnn-all-tokens]="$CNN --latent-from all"
)
for name in "$@"; do
  start=$(date +%s)
  echo "== $name: hyperrep train $ZOO $MODELS_ARG --variant ecd --compression $COMPRESSION \
--epochs $EPOCHS ${ARGS[$name]}"
  hyperrep train "$ZOO" $MODELS_ARG --out "runs/$PREFIX-$name" --variant ecd \
    --compression "$COMPRESSION" --epochs "$EPOCHS" ${ARGS[$name]} --quiet
  trained=$(date +%s)
  hyperrep evaluate "runs/$PREFIX-$name" "$ZOO" $MODELS_ARG --out "reports/$PREFIX-$name" \
    --umap-points 0 ${OOD:+--ood $OOD} ${OOD_MODELS:+--ood-models $OOD_MODELS}
  echo "== $name: train $((trained - start)) s, evaluate $(( $(date +%s) - trained )) s"
  grep -A6 "^| " "reports/$PREFIX-$name/results.md" | head -12
done
