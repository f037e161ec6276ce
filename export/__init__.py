"""Export, scoring and prediction with the round-2 ensemble (SPEC §9).

* file names and the default checkpoints of an export: `common.run_layout` (no TensorFlow, no torch).
* `export.torch_pipeline`: the PyTorch re-statement of the exported inference graph (SPEC §9.3); also the
  PyTorch predict path. No TensorFlow.
* `export.litert`: the Kaggle-style LiteRT runner and flatbuffer inspection. No TensorFlow.
* `export.scoring`: scoring a model.tflite on a fold of raw parquet data, as Kaggle does. No TensorFlow.
* `export.convert`: Keras twins + SavedModel + fp16 TFLite (imports TensorFlow).
* `export.parity`: PyTorch vs Keras vs TFLite comparisons and the conversion script's report (TensorFlow).
"""
