import openvino as ov
from openvino import Type

from keras.src.backend.openvino.core import ov_to_keras_type

# Element types whose reference kernels compute what the CPU plugin does.
# It computes f16 and bf16 in f32, and 64-bit and u32 types in 32 bits: a
# graph holding those is compiled, so that its value stays the plugin's.
REFERENCE_ELEMENT_TYPES = frozenset(
    (Type.f32, Type.i32, Type.i16, Type.i8, Type.u16, Type.u8, Type.boolean)
)
# Nodes that move, compare or select values: their reference kernels give
# NumPy's answer in every type, where the plugin would compute 64-bit types
# as 32 bits (so that float64 infinities become float32's largest value).
EXACT_NODE_TYPES = frozenset(
    "Constant Result Reshape Squeeze Unsqueeze Transpose Concat Gather "
    "StridedSlice Broadcast Equal Select LogicalNot".split()
)
# Nodes whose reference kernel advances a generator each time it runs, so
# that one tensor converted twice would give two values; compiled, it won't.
STATEFUL_NODE_TYPES = frozenset(("RandomUniform", "Multinomial"))


def _is_reference_exact(node):
    """Whether `node`'s reference kernel computes what the plugin does or,
    where the plugin is wrong (float64 as float32), NumPy's answer."""
    types = [port.get_element_type() for port in node.inputs()]
    types += [port.get_element_type() for port in node.outputs()]
    if all(element_type in REFERENCE_ELEMENT_TYPES for element_type in types):
        return True
    if node.get_type_name() == "Convert":
        # float32 to float64 is exact, where the plugin saturates infinities;
        # float8 has no other kernels, and converts as ml_dtypes does.
        float8 = {Type.f8e4m3, Type.f8e5m2}
        source, target = types
        return types == [Type.f32, Type.f64] or (
            {source, target} <= float8 | {Type.f32} and source != target
        )
    return node.get_type_name() in EXACT_NODE_TYPES


def evaluate_with_reference_kernels(model):
    """The value of the one result of `model` (without parameters) from the
    reference kernels: a new array, or None where a node has no kernel."""
    element_type = model.output(0).get_element_type()
    shape = model.output(0).get_partial_shape()
    if shape.is_static and 0 in shape.to_shape():
        # Nothing to compute, and the reference kernels of some float64
        # ops corrupt memory on empty tensors.
        result = ov.Tensor(element_type, shape.to_shape())
    else:
        result = ov.Tensor(element_type, [0])
        try:
            model.evaluate([result], [])
        except RuntimeError as error:
            if "Evaluation failed on" not in str(error):
                raise
            return None
    data = result.data
    if element_type in (Type.bf16, Type.f8e4m3, Type.f8e5m2):
        # OpenVINO hands the bits of ml_dtypes' types out as other types.
        data = data.view(ov_to_keras_type(element_type))
    return data


def depends_on_parameter(output):
    """Whether `output` is computed from a `Parameter`, a model's input."""
    seen, nodes = set(), [output.get_node()]
    while nodes:
        node = nodes.pop()
        if node.get_type_name() == "Parameter":
            return True
        if node not in seen:
            seen.add(node)
            nodes += [value.get_node() for value in node.input_values()]
    return False


def evaluate_constant_graph(output):
    """The value of a graph of constants from OpenVINO's reference kernels
    (what the plugin's constant folding runs, without a compilation's tens
    of milliseconds), where every node is reference-exact; else None."""
    if depends_on_parameter(output):  # A symbolic tensor.
        return None
    model = ov.Model([output], [])
    for node in model.get_ordered_ops():
        if node.get_type_name() in STATEFUL_NODE_TYPES:
            return None
        if not _is_reference_exact(node):
            return None
    return evaluate_with_reference_kernels(model)
