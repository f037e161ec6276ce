"""The exported inference graph of SPEC §9.3 and its PyTorch twin, side by side (issue 12, point 2).

One raw sequence (T, 390) -> pre-processing -> every seed's encoder -> averaged aux logit -> confidence fallback
-> KV-cached greedy decoding of the ensemble -> the phrase's rows. Someone changing the fallback or the decode loop
finds both statements of it here, and changes them together.

* `inference.tflite_graph`: the graph that becomes model.tflite (a tf.Module built from the Keras twins of
  `models/keras/`). Imports TensorFlow (after `models.keras.tf_setup`).
* `inference.torch_graph`: the same maths with the PyTorch modules of `models/`: the reference of the parity
  checks and the PyTorch path of scripts/predict.py. No TensorFlow.

The names say which framework each twin is written in; both are the same graph. This __init__ imports neither,
so importing the PyTorch twin never loads TensorFlow. `export/` only converts (export.convert) and checks
(export.parity, export.agreement); the post-processing thresholds both twins take come from export.thresholds.
"""
