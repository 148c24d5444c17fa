#!/bin/bash
# Exact commands that produced the shipped models in workloads/models/.
# Each training uses one thread (torch.set_num_threads(1)); two can run side
# by side on a 2-core machine.  Checkpoints go to workloads/checkpoints/
# (git-ignored).  Deterministic for a given seed on the same torch build.
set -euo pipefail
cd "$(dirname "$0")/.."
CK=workloads/checkpoints
M=workloads/models
mkdir -p $CK $M
EGRU_SET="--set thr_init_mean=0.1 --set pseudo_gamma=0.7 --set pseudo_eps=1.0 --set dropout_emb=0.1 --set dropout_layers=0.1 --set dropout_out=0.2"

# tiny EGRU (tests)
nmsim lm train --dataset ptb --kind egru --preset tiny --epochs 2 --train-tokens 200000 \
  --batch-size 32 --bptt 35 --lr 0.01 --unigram-bias --seed 1 --out $CK/ptb-egru-tiny.pt
nmsim lm export $CK/ptb-egru-tiny.pt $M/ptb-egru-tiny.nmm

# dense small PTB EGRU (schedule for 6 epochs, stopped after 4 for time), then gradual magnitude pruning to 80% and 90%
nmsim lm train --dataset ptb --kind egru --preset small --epochs 6 --stop-after 4 --seed 1234 --unigram-bias \
  $EGRU_SET --out $CK/ptb-egru-small-s0.pt
for s in 50 80 90 95; do
  nmsim lm prune $CK/ptb-egru-small-s0.pt --target 0.$s --epochs 1 --lr 1e-3 \
    --prune-end-frac 0.6 --prune-freq 10 --seed 1234 --out $CK/ptb-egru-small-s$s.pt
done

# variant: 80% pruning that also prunes the tied embedding/decoder
nmsim lm prune $CK/ptb-egru-small-s0.pt --target 0.8 --prune-embedding --epochs 1 --lr 1e-3 \
  --prune-end-frac 0.6 --prune-freq 10 --seed 1234 --out $CK/ptb-egru-small-s80-emb.pt

# dense small PTB LSTM (schedule for 6 epochs, stopped after 4 for time), then 80%
nmsim lm train --dataset ptb --kind lstm --preset small --epochs 6 --stop-after 4 --seed 1234 \
  --out $CK/ptb-lstm-small-s0.pt
nmsim lm prune $CK/ptb-lstm-small-s0.pt --target 0.8 --epochs 1 --lr 1e-3 \
  --prune-end-frac 0.6 --prune-freq 10 --seed 1234 --out $CK/ptb-lstm-small-s80.pt

# WikiText-2 EGRU at 80%: 500 batches of 64x35 tokens (~0.54 epoch), pruned gradually from 30% to 70% of them
nmsim lm train --dataset wikitext-2 --kind egru --preset small --epochs 1 --max-batches 500 \
  --seed 913420 --unigram-bias --set emb=128 --set 'hidden=[256,256,128]' $EGRU_SET \
  --prune-target 0.8 --prune-start-frac 0.3 --prune-end-frac 0.7 --prune-freq 10 \
  --valid-tokens 50000 --out $CK/wt2-egru-small-s80.pt

for n in ptb-egru-small-s0 ptb-egru-small-s50 ptb-egru-small-s80 ptb-egru-small-s90 ptb-egru-small-s95 ptb-egru-small-s80-emb ptb-lstm-small-s0 ptb-lstm-small-s80; do
  nmsim lm export $CK/$n.pt $M/$n.nmm
done
nmsim lm export $CK/wt2-egru-small-s80.pt $M/wt2-egru-small-s80.nmm --test-tokens 50000

python validation/workload_table.py

# medium PTB models (embedding 400, layers 512/512/400; issue 14's CPU-trainable stand-in for the paper size):
# 400 batches of 64x35 tokens (~0.34 epoch) each; the EGRU pruned gradually to 90% from 30% to 70% of them
nmsim lm train --dataset ptb --kind egru --preset small --epochs 1 --max-batches 400 --seed 1234 --unigram-bias \
  --threads 1 --set emb=400 --set 'hidden=[512,512,400]' $EGRU_SET \
  --prune-target 0.9 --prune-start-frac 0.3 --prune-end-frac 0.7 --prune-freq 10 \
  --valid-tokens 20000 --out $CK/ptb-egru-medium-s90.pt
nmsim lm train --dataset ptb --kind lstm --preset small --epochs 1 --max-batches 400 --seed 1234 \
  --threads 1 --set emb=400 --set 'hidden=[512,512,400]' --valid-tokens 20000 --out $CK/ptb-lstm-medium-s0.pt
nmsim lm export $CK/ptb-egru-medium-s90.pt $M/ptb-egru-medium-s90.nmm --test-tokens 20000
nmsim lm export $CK/ptb-lstm-medium-s0.pt $M/ptb-lstm-medium-s0.nmm --test-tokens 20000
