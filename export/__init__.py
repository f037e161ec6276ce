"""Conversion of the round-2 ensemble to TFLite, its checks, and scoring (SPEC §9).

The inference graph itself and its PyTorch twin live in `inference/` (`inference.tflite_graph`,
`inference.torch_graph`); this package only converts and checks.

* file names and the default checkpoints of an export: `common.run_layout` (no TensorFlow, no torch).
* `export.litert`: the Kaggle-style LiteRT runner and flatbuffer inspection. No TensorFlow.
* `export.scoring`: scoring a model.tflite on a fold of raw parquet data, as Kaggle does. No TensorFlow.
* `export.convert`: Keras twins + SavedModel + fp16 TFLite (imports TensorFlow).
* `export.parity`: PyTorch vs Keras vs TFLite comparisons and the conversion script's report (TensorFlow).
"""
