import collections
import threading

import ml_dtypes
import numpy as np
import openvino as ov
import openvino.opset16 as ov_opset
from openvino import Type

from keras.src.backend.common import KerasVariable
from keras.src.backend.openvino.core import OpenVINOKerasTensor
from keras.src.backend.openvino.core import get_device

# How this backend compiles every model. The CPU plugin's default precision
# is bf16 on CPUs that have it, which would round float32 results.
COMPILE_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}
# Compiled models kept for eager execution; the least recently used one is
# dropped past this bound.
COMPILED_MODEL_CACHE_SIZE = 256
# A constant with more elements than this, or any floating-point constant
# that is not a scalar, is fed to the cached model as an input instead of
# being baked into it: the model is then reused for new data, and the CPU
# plugin's constant folding cannot flush its `-0.0` or subnormals.
MAX_BAKED_CONSTANT_SIZE = 16
# Only types that the CPU plugin reads exactly are fed. It converts a 64-bit
# or u32 input to 32 bits (an f64 inf becomes the f32 maximum) and flushes
# bf16 subnormals, where folding a constant keeps them.
FED_CONSTANT_TYPES = (
    Type.f32,
    Type.f16,
    Type.i32,
    Type.i16,
    Type.i8,
    Type.u16,
    Type.u8,
    Type.boolean,
)


# OpenVINO types whose NumPy dtype comes from ml_dtypes: OpenVINO's Python
# API neither reads nor returns them, only their raw bits.
ML_DTYPES = {
    Type.bf16: np.dtype(ml_dtypes.bfloat16),
    Type.f8e4m3: np.dtype(ml_dtypes.float8_e4m3fn),
    Type.f8e5m2: np.dtype(ml_dtypes.float8_e5m2),
}
_OV_TYPES_OF_ML_DTYPES = {
    dtype: ov_type for ov_type, dtype in ML_DTYPES.items()
}


def numpy_dtype(ov_type):
    return ML_DTYPES.get(ov_type) or np.dtype(ov_type.to_dtype())


def _raw_bits(array):
    """`array` viewed as unsigned integers of the same width."""
    return array.view(f"u{array.dtype.itemsize}")


def shared_ov_tensor(array):
    """An `ov.Tensor` reading `array` in place where that is safe.

    The caller keeps `array` alive while the tensor is in use.
    """
    if not array.flags.c_contiguous or not array.flags.writeable:
        # OpenVINO only shares writeable C-ordered memory; it never writes
        # to an input, so a copy keeps the caller's array untouched.
        array = np.array(array, order="C")
    if array.dtype in _OV_TYPES_OF_ML_DTYPES:
        ov_type = _OV_TYPES_OF_ML_DTYPES[array.dtype]
        return ov.Tensor(_raw_bits(array), array.shape, ov_type)
    return ov.Tensor(array, shared_memory=True)


def tensor_from_numpy(array):
    """An eager `OpenVINOKerasTensor` of `array`, which it takes over."""
    return OpenVINOKerasTensor(constant_from_numpy(array), data=array)


def constant_from_numpy(array):
    """A `Constant` holding `array`; it keeps `array` alive and unchanged."""
    if array.dtype in _OV_TYPES_OF_ML_DTYPES:
        # OpenVINO cannot hold on to NumPy's memory for these types: copy
        # the bits into a tensor it owns.
        ov_type = _OV_TYPES_OF_ML_DTYPES[array.dtype]
        tensor = ov.Tensor(ov_type, ov.Shape(list(array.shape)))
        _raw_bits(tensor.data)[...] = _raw_bits(array)
        return ov_opset.constant(tensor).output(0)
    # A 0-d array is copied: OpenVINO does not share scalar memory.
    return ov_opset.constant(array, shared_memory=array.ndim > 0).output(0)


class _CompiledEntry:
    def __init__(self, compiled_model):
        self.compiled_model = compiled_model
        self.idle_requests = []

    def acquire(self):
        try:
            return self.idle_requests.pop()
        except IndexError:
            return self.compiled_model.create_infer_request()

    def release(self, request):
        self.idle_requests.append(request)


class CompiledModelCache:
    """A bounded, thread-safe LRU of compiled models for eager execution.

    Each entry keeps its idle infer requests, so a thread never shares a
    request with another one while it runs.
    """

    def __init__(self, max_size=COMPILED_MODEL_CACHE_SIZE):
        self.max_size = max_size
        self.compilations = 0
        self._entries = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._entries)

    def clear(self):
        with self._lock:
            self._entries.clear()

    def _entry(self, key, build_model):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        compiled_model = ov.compile_model(
            build_model(), get_device(), COMPILE_CONFIG
        )
        with self._lock:
            self.compilations += 1
            entry = self._entries.setdefault(
                key, _CompiledEntry(compiled_model)
            )
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)
        return entry

    def run(self, key, build_model, inputs):
        """Runs the model cached under `key`, compiling it on a miss.

        Args:
            key: A hashable signature of everything `build_model` depends on.
            build_model: Returns the `ov.Model` to compile on a miss.
            inputs: NumPy arrays, one per model parameter, read in place.

        Returns:
            A list of NumPy arrays that belong to the caller.
        """
        entry = self._entry(key, build_model)
        # The request does not keep the tensors' NumPy memory alive: these
        # references do, until the inference is over.
        tensors = [shared_ov_tensor(array) for array in inputs]
        request = entry.acquire()
        try:
            for index, tensor in enumerate(tensors):
                request.set_input_tensor(index, tensor)
            request.infer()
            # One copy out of the request's own output memory, which the
            # plugin reuses from call to call. Handing it an output array
            # instead makes it allocate and copy through a buffer of its own
            # on every call: twice the memory, and slower.
            return [
                np.array(tensor.data).view(numpy_dtype(tensor.element_type))
                for tensor in request.output_tensors
            ]
        finally:
            entry.release(request)


compiled_model_cache = CompiledModelCache()


def _is_fed(constant):
    element_type = constant.get_output_element_type(0)
    if element_type not in FED_CONSTANT_TYPES:
        return False
    size = int(np.prod(list(constant.get_output_shape(0))))
    return size > MAX_BAKED_CONSTANT_SIZE or (
        element_type.is_real() and size > 1
    )


def _can_feed_constants(ordered_ops):
    constant_names = [
        node.get_friendly_name()
        for node in ordered_ops
        if node.get_type_name() == "Constant"
    ]
    if len(set(constant_names)) != len(constant_names):
        return False  # A clone's constants are found by their names.
    for node in ordered_ops:
        # openvino 2026.4.1's CPU plugin dies compiling a reshape to rank 0
        # of a MatMul of parameters (e.g. `ops.inner` of two vectors); with
        # the constants baked in, the reshape is folded away first.
        if node.get_type_name() == "Reshape":
            rank = node.get_output_partial_shape(0).rank
            if rank.is_static and rank.get_length() == 0:
                return False
    return True


def _structural_key(ordered_ops):
    """The graph's signature and the constants to feed as inputs.

    The signature holds each node's type, attributes, inputs and output
    types and shapes, and the value of every constant that is baked in.
    """
    feed = _can_feed_constants(ordered_ops)
    positions = {}
    signature = []
    fed_constants = []
    for position, node in enumerate(ordered_ops):
        positions[node.get_name()] = position
        type_name = node.get_type_name()
        output_types = tuple(
            (str(out.get_element_type()), str(out.get_partial_shape()))
            for out in node.outputs()
        )
        if type_name == "Constant":
            if feed and _is_fed(node):
                fed_constants.append(node)
                signature.append(("fed", output_types))
            else:
                data = node.get_data().tobytes()
                signature.append(("baked", output_types, data))
            continue
        inputs = tuple(
            (
                positions[port.get_source_output().get_node().get_name()],
                port.get_source_output().get_index(),
            )
            for port in node.inputs()
        )
        attributes = tuple(sorted(node.get_attributes().items(), key=str))
        signature.append((type_name, repr(attributes), inputs, output_types))
    return tuple(signature), fed_constants


def _constant_array(node):
    data = node.get_data()
    ov_type = node.get_output_element_type(0)
    if ov_type in ML_DTYPES:
        data = data.view(ML_DTYPES[ov_type])
    return data


def _model_with_fed_constants(model, fed_constants):
    clone = model.clone()
    # A clone keeps friendly names, not always the order of its nodes.
    cloned_constants = {
        node.get_friendly_name(): node
        for node in clone.get_ordered_ops()
        if node.get_type_name() == "Constant"
    }
    parameters = []
    for original in fed_constants:
        constant = cloned_constants[original.get_friendly_name()]
        parameter = ov_opset.parameter(
            constant.get_output_partial_shape(0),
            constant.get_output_element_type(0),
        )
        constant.output(0).replace(parameter.output(0))
        parameters.append(parameter)
    clone.add_parameters(parameters)
    clone.validate_nodes_and_infer_types()
    return clone


def evaluate(output):
    """Runs a graph of constants, compiled once per graph structure."""
    if output.get_element_type() == Type.boolean:
        # Booleans come back as u8 and are viewed as bool, without a copy.
        output = ov_opset.convert(output, Type.u8).output(0)
        return evaluate(output).view(bool)
    model = ov.Model([output], [])
    signature, fed_constants = _structural_key(model.get_ordered_ops())
    inputs = [_constant_array(node) for node in fed_constants]
    (result,) = compiled_model_cache.run(
        ("graph", signature),
        lambda: _model_with_fed_constants(model, fed_constants),
        inputs,
    )
    return result


def is_concrete(output):
    """Whether a graph depends on constants only, not on parameters."""
    pending = [output.get_node()]
    seen = set()
    while pending:
        node = pending.pop()
        name = node.get_name()
        if name in seen:
            continue
        seen.add(name)
        if node.get_type_name() == "Parameter":
            return False
        pending.extend(
            port.get_source_output().get_node() for port in node.inputs()
        )
    return True


def convert_to_numpy(x):
    if isinstance(x, KerasVariable):
        x = x.value
    if x is None or isinstance(x, (np.ndarray, np.generic)):
        return x
    if isinstance(x, ov.Tensor):
        return x.data
    if isinstance(x, (list, tuple)):
        return np.array([convert_to_numpy(element) for element in x])
    if not isinstance(x, OpenVINOKerasTensor):
        return np.array(x)
    node = x.output.get_node()
    if node.get_type_name() == "Constant":
        data = _constant_array(node)
        if isinstance(x.data, np.ndarray) and np.shares_memory(x.data, data):
            # The tensor's own array, which its constant shares: handed out
            # as torch's `.numpy()` does, without a copy.
            return x.data
        return np.array(data)
    if not is_concrete(x.output):
        raise ValueError(
            "`convert_to_numpy` got a symbolic OpenVINOKerasTensor: it "
            "depends on a model input and has no value yet."
        )
    return evaluate(x.output)
