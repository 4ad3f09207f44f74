import ml_dtypes
import openvino as ov
from openvino import Type

# OpenVINO types whose NumPy dtype comes from ml_dtypes.
ML_DTYPES = {
    Type.bf16: ml_dtypes.bfloat16,
    Type.f8e4m3: ml_dtypes.float8_e4m3fn,
    Type.f8e5m2: ml_dtypes.float8_e5m2,
}
# Element types whose reference kernels compute what the CPU plugin computes
# when it folds a graph of constants at compile time. The plugin computes
# f16 and bf16 in f32, and 64-bit and u32 types in 32 bits: a graph holding
# any of those is compiled, so that its value stays the plugin's.
REFERENCE_ELEMENT_TYPES = frozenset(
    (Type.f32, Type.i32, Type.i16, Type.i8, Type.u16, Type.u8, Type.boolean)
)
# Nodes that only move values: their reference kernels give NumPy's answer
# in every type, where the plugin would move 64-bit types as 32 bits.
MOVING_NODE_TYPES = frozenset(
    "Constant Result Reshape Squeeze Unsqueeze Transpose Concat Gather "
    "StridedSlice Broadcast".split()
)
# Nodes whose reference kernel advances a generator each time it runs: one
# tensor converted twice would give two values. Compiled, every conversion
# gives the values of the node's seeds.
STATEFUL_NODE_TYPES = frozenset(("RandomUniform", "Multinomial"))


def _is_reference_exact(node):
    """Whether `node`'s reference kernel gives the plugin's answer, or
    NumPy's where the plugin's is not."""
    types = [port.get_element_type() for port in node.inputs()]
    types += [port.get_element_type() for port in node.outputs()]
    if all(element_type in REFERENCE_ELEMENT_TYPES for element_type in types):
        return True
    if node.get_type_name() == "Convert":
        # float32 to float64 is exact; the plugin's kernel saturates inf.
        return types == [Type.f32, Type.f64]
    return node.get_type_name() in MOVING_NODE_TYPES


def evaluate_constant_graph(output, any_element_type=False):
    """The value of a graph of constants, from OpenVINO's reference kernels.

    The reference kernels are what the CPU plugin's compile-time constant
    folding runs, without the compilation, which costs tens of milliseconds
    for any graph; unlike the folding, they keep negative zeros and
    subnormals. Only graphs whose every node's types are in
    `REFERENCE_ELEMENT_TYPES`, or that only move values, are
    evaluated, unless `any_element_type` is set for a graph known to be
    right on them whatever its types.

    Returns:
        A NumPy array that belongs to the caller, or None when the graph
        depends on a parameter, holds a random node, has another element
        type, or has a node without a reference kernel.
    """
    try:
        model = ov.Model([output], [])
    except RuntimeError:
        return None
    nodes = model.get_ordered_ops()
    if any(node.get_type_name() == "Parameter" for node in nodes):
        return None
    if any(node.get_type_name() in STATEFUL_NODE_TYPES for node in nodes):
        return None
    if not any_element_type and not all(
        _is_reference_exact(node) for node in nodes
    ):
        return None
    result = ov.Tensor(output.get_element_type(), [0])
    try:
        if not model.evaluate([result], []):
            return None
    except Exception:
        # No kernel for a node or its types, or a kernel that refused its
        # values: compiled, the graph gets the plugin's answer or error.
        return None
    data = result.data
    if output.get_element_type() in ML_DTYPES:
        # OpenVINO hands these types' bits out as other types.
        data = data.view(ML_DTYPES[output.get_element_type()])
    return data
