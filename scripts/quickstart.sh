#!/usr/bin/env bash
# The main job, from a fresh clone: set up, build the real Linux-documentation corpus, train a
# small fmmformer_lm on CPU for a few minutes, evaluate it with fairseq-eval-lm on the test split.
#   MAX_UPDATE=600 (about 5 minutes on 2 cores)  SAVE_DIR=checkpoints/quickstart  DATA=data-bin/linux-doc
# Interrupted? Run it again: fairseq resumes from $SAVE_DIR/checkpoint_last.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_UPDATE=${MAX_UPDATE:-600}
SAVE_DIR=${SAVE_DIR:-checkpoints/quickstart}
DATA=${DATA:-data-bin/linux-doc}
BIN=.venv/bin

bash scripts/setup.sh
"$BIN/fmm-prepare-lm" --destdir "$DATA"

echo "== training fmmformer_lm_tiny for $MAX_UPDATE updates (checkpoints in $SAVE_DIR)"
"$BIN/fairseq-train" "$DATA" --user-dir fmm_fairseq --task language_modeling \
  --arch fmmformer_lm_tiny --tokens-per-sample 256 --batch-size 16 \
  --optimizer adam --adam-betas '(0.9,0.98)' --clip-norm 1.0 \
  --lr 0.002 --lr-scheduler inverse_sqrt --warmup-updates 100 \
  --max-update "$MAX_UPDATE" --validate-interval-updates 200 --save-interval-updates 200 \
  --keep-interval-updates 1 --no-epoch-checkpoints \
  --save-dir "$SAVE_DIR" --cpu --seed 1 --no-progress-bar --log-interval 50

echo "== fairseq-eval-lm on the test split"
"$BIN/fairseq-eval-lm" "$DATA" --user-dir fmm_fairseq --path "$SAVE_DIR/checkpoint_best.pt" \
  --gen-subset test --tokens-per-sample 256 --batch-size 16 --cpu 2>&1 | tee "$SAVE_DIR/eval_test.log"
perplexity=$(grep -o "Perplexity: [0-9.]*" "$SAVE_DIR/eval_test.log" | tail -1 | cut -d' ' -f2)
echo "test perplexity: $perplexity"
