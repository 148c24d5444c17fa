#!/usr/bin/env bash
# Create Lava's own virtualenv for the optional bit-accurate cross-check (nmsim/validate/lava_compare.py).
# lava-nc 0.10.0 ships a wheel only for Python < 3.11, so it cannot live beside nmsim (Python >= 3.11);
# nmsim drives it as a separate program (nmsim/validate/lava_driver.py).
#   scripts/setup_lava.sh [PYTHON3.10]       (venv: $NMSIM_LAVA_VENV, default ~/.cache/nmsim/lava-venv)
set -euo pipefail
PY="${1:-/root/.pyenv/versions/3.10.13/bin/python}"
VENV="${NMSIM_LAVA_VENV:-$HOME/.cache/nmsim/lava-venv}"
"$PY" -c 'import sys; assert sys.version_info[:2] < (3, 11), "lava-nc 0.10 needs Python < 3.11"'
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q "lava-nc==0.10.0"
"$VENV/bin/python" -c 'import lava.proc.lif.models as m; print("lava ok:", m.PyLifModelBitAcc.__name__)'
echo "Lava virtualenv ready: $VENV"
