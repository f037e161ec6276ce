"""Keras 3 (TensorFlow backend) twin of `mdl_2_pt.Net`'s inference path, for the TFLite export (SPEC §9).

* Mirrors `models/` file for file and class for class: `attention`, `rope`, `llama_attention`,
  `feature_extractor`, `squeezeformer`, `decoder`, `mdl_2_pt` hold the twins of the PyTorch modules of the same
  path, with the same class names, attribute names (`feature_extractor_lhand`, `encoder.blocks[i].mhsa_llama.q_proj`,
  `decoder.decoder.layers[i].fc1`...) and constructor parameters; constants are imported from the PyTorch side.
  They work on ONE unpadded sequence (no batch axis, no masks: SPEC §9.2).
* Keras-only: `layers` (built-at-construction Dense/LayerNorm/BatchNorm with PyTorch's conventions), `port`
  (copies PyTorch weights by walking both trees in parallel, checking every tensor and shape), `tf_setup`.
  No twin: mdl_1 (`rel_attention`, `mdl_1_pt`: never exported), `norms` (Keras' own BatchNorm from `layers`),
  `decoding` (the TFLite decode loop is `inference.tflite_graph`) and `weights` (reading .pth files).
The exported tf.Module built from these layers (preprocessing, ensemble, fallbacks, KV-cached greedy loop; SPEC §9.3)
is `inference.tflite_graph`, beside its PyTorch twin `inference.torch_graph`.

Importing these modules imports TensorFlow; training code never does.
"""

# The TensorFlow set-up (oneDNN off, triton before TensorFlow) runs before any module of this package imports
# TensorFlow, because Python runs this __init__ first.
from models.keras import tf_setup  # noqa: F401
