#!/usr/bin/env bash
# Grid row speeds: the default (grid row text-lr) with LexCMLP's training clips replayed at 0.9, 1.0 or 1.1 times
# their speed (`speeds`, docs/pretraining.md). It shares the default's LexMLM, CMMM and LexMMM folders.
# The rule, written before any seed trained: speeds joins the default's LexCMLP only if `eval compare` (seeds 0-2, as
# served, seeds and queries resampled) puts its kitml-cmu t2m R@1 or its cmu-extra t2m R@10 above the default's
# (interval above 0), and nothing falls measurably (interval below 0): no other retrieval figure of either test set,
# nor word AP on kitml-cmu test or Bandai-2 label AP (`eval words`, words_intervals.py), nor word localisation or
# moment R@1 (`eval moments --against`). Dense then gets the same rates only by the same rule, run again for it.
# Trains the row's seeds and compares it with the default, as served (docs/scripts/lexcmlp_row.sh). Run from the
# repository root.
set -euo pipefail
bash docs/scripts/lexcmlp_row.sh speeds
