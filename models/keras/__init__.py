"""Keras 3 (TensorFlow backend) twin of `mdl_2_pt.Net`'s inference path, for the TFLite export (SPEC §9).

* `feature_extractor`, `squeezeformer`, `decoder`, `net`: layers whose attribute names mirror the PyTorch
  modules (`feature_extractor_lhand`, `encoder.blocks[i].mhsa_llama.q_proj`, `decoder.decoder.layers[i].fc1`...),
  working on ONE unpadded sequence (no batch axis, no masks: SPEC §9.2).
* `port`: copies PyTorch weights by walking both trees in parallel, checking every tensor and shape.
The exported tf.Module built from these layers (preprocessing, ensemble, fallbacks, KV-cached greedy loop; SPEC §9.3)
is `inference.tflite_graph`, beside its PyTorch twin `inference.torch_graph`.

Importing these modules imports TensorFlow; training code never does.
"""

# The TensorFlow set-up (oneDNN off, triton before TensorFlow) runs before any module of this package imports
# TensorFlow, because Python runs this __init__ first.
from models.keras import tf_setup  # noqa: F401
