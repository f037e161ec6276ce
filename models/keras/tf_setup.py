"""TensorFlow set-up, done once, before TensorFlow is first imported anywhere in this repo.

Every TensorFlow user imports this module before `tensorflow`/`keras` (checked by tests/test_tf_setup.py), with
`import models.keras.tf_setup  # noqa: F401  (before TensorFlow)` above its TensorFlow import.
The modules of `models.keras` get it through the package's `__init__`, the tests through tests/conftest.py.
It imports torch but not TensorFlow, so it is cheap for a module that imports TensorFlow lazily.
"""
from __future__ import annotations

import os
import sys
import warnings

# SPEC §9.5: TensorFlow's oneDNN graph rewrites mis-compute the GLU, so the export and its parity checks run
# without them. TensorFlow reads the variable when it loads, hence before the first `import tensorflow`.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# The triton package that ships with torch's CUDA build and TensorFlow load clashing native libraries: importing
# triton AFTER TensorFlow segfaults (torch imports it lazily, e.g. the first time an optimiser is built). Loading
# it here (through torch._dynamo) puts it first.
import torch._dynamo  # noqa: E402,F401

if "tensorflow" in sys.modules:  # someone imported TensorFlow before this module: the settings above came too late
    warnings.warn("TensorFlow was imported before models.keras.tf_setup; import the set-up module first",
                  RuntimeWarning, stacklevel=2)
