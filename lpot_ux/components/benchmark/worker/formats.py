"""The model kinds lpot_ux runs: which runtime runs which file.

The server checks requests against this table and the worker loads models by
it; it imports nothing, so that the server may read it without a runtime.
"""

FRAMEWORKS = ("tensorflow", "tflite", "onnxrt")
# The framework and format of a model file, by its suffix.
SUFFIXES = {
    ".pb": ("tensorflow", "frozen_graph"),
    ".keras": ("tensorflow", "keras"),
    ".h5": ("tensorflow", "keras"),
    ".tflite": ("tflite", "tflite"),
    ".onnx": ("onnxrt", "onnx"),
}
