import warnings

import openvino as ov

# Nodes through which float64 values pass without being computed on.
FLOAT64_MOVES = frozenset(
    "Parameter Constant Result Convert Reshape Squeeze Unsqueeze Transpose "
    "Concat Gather Slice StridedSlice Broadcast Tile Pad Roll Split "
    "VariadicSplit Reverse ShapeOf Select GatherElements GatherND".split()
)


def warn_if_float64(model, ov_model):
    """Warns if a layer's dtype or a node of `ov_model` other than moves
    computes in float64; returns whether it did."""
    layers = model._flatten_layers()
    found = any(layer.compute_dtype == "float64" for layer in layers)
    for node in ov_model.get_ordered_ops():
        if found or node.get_type_name() in FLOAT64_MOVES:
            continue
        ports = [*node.inputs(), *node.outputs()]
        found = ov.Type.f64 in [port.get_element_type() for port in ports]
    if found:
        warnings.warn(
            "This model computes in float64, which OpenVINO computes as "
            "float32 (openvino#34138): beyond float32's range or precision, "
            "its results differ from NumPy's (1e300 as inf, 1 + 1e-10 as 1).",
            stacklevel=2,
        )
    return found
