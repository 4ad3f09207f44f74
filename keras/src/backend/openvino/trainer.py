import warnings

import openvino as ov

from keras.src.backend.openvino.core import EXACT_NODE_TYPES


def warn_if_float64(model, ov_model):
    """Warns if `model` computes in float64: a layer's dtype, or a node of
    `ov_model` other than inputs, conversions and moves of values. Returns
    whether it did."""
    quiet = EXACT_NODE_TYPES | {"Parameter", "Convert", "Slice"}
    in_graph = any(
        ov.Type.f64 in [output.get_element_type() for output in node.outputs()]
        for node in ov_model.get_ordered_ops()
        if node.get_type_name() not in quiet
    )
    layers = model._flatten_layers()
    if in_graph or any(layer.compute_dtype == "float64" for layer in layers):
        warnings.warn(
            "This model computes in float64, which OpenVINO computes as "
            "float32 (openvino#34138): beyond float32's range or precision, "
            "its results differ from NumPy's (1e300 as inf, 1 + 1e-10 as 1).",
            stacklevel=2,
        )
        return True
    return False
