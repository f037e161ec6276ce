"""Old name of models/weights.py, kept only because train.py (owned by another change in flight) still imports
`models.checkpoint.load_weights`. Delete this file once train.py imports `from models.weights import load_weights`.
"""
from models.weights import load_weights  # noqa: F401
