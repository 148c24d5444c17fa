"""Where the project's shipped files live (chips, datasets, trained models).

nmsim is installed in editable mode (``pip install -e .``) so these resolve
to the checkout.  ``NMSIM_HOME`` overrides the project root.
"""

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout that holds ``chips/``, ``data/`` and ``workloads/``."""
    env = os.environ.get("NMSIM_HOME")
    return Path(env) if env else Path(__file__).resolve().parents[1]


def chips_dir() -> Path:
    return project_root() / "chips"


def data_dir() -> Path:
    return project_root() / "data"


def models_dir() -> Path:
    return project_root() / "workloads" / "models"


def systems_dir() -> Path:
    return project_root() / "systems"
