import collections
import os
import threading

import ml_dtypes
import numpy as np
import openvino as ov
import openvino.opset16 as ov_opset
from openvino import Type

from keras.src.backend.common import KerasVariable
from keras.src.backend.openvino.core import OpenVINOKerasTensor
from keras.src.backend.openvino.core import get_device
from keras.src.backend.openvino.core import ov_to_keras_type

# How this backend compiles every model. The CPU plugin's default precision
# is bf16 on CPUs that have it, which would round float32 results.
COMPILE_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}
# Added for models whose inference overlaps the caller's own work: a plugin
# thread pinned to a core takes turns with the caller's thread on it (on two
# cores, a float64 `nan_to_num` took 0.85x NumPy's time pinned, 0.55x not).
OVERLAPPED_COMPILE_CONFIG = {"ENABLE_CPU_PINNING": False}
# Bounds of the cache of compiled models that the backend's own eager graphs
# (`nan_to_num`, `argmax`, `argmin`) run on: models kept, idle infer requests
# kept per model, and bytes of plugin memory the kept models may hold. The
# byte bound is read from `KERAS_OPENVINO_EAGER_CACHE_BYTES` at import, and
# can be changed on `compiled_model_cache.max_bytes`.
COMPILED_MODEL_CACHE_SIZE = 32
MAX_IDLE_REQUESTS = 2
COMPILED_MODEL_CACHE_BYTES = int(
    os.environ.get("KERAS_OPENVINO_EAGER_CACHE_BYTES", 128 * 2**20)
)
# Results larger than this are handed to the caller without a copy, and the
# request that made them is not kept: a copy would double the peak memory.
MAX_COPIED_RESULT_BYTES = 2**20
# Rows of input that a model run row by row (`CompiledModelCache.run_rows`)
# gets per inference: the plugin's buffers for a row-wise graph stay this
# small whatever the input's size, and each chunk lands in the result.
ROW_CHUNK_BYTES = 2**20


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


def raw_bits(array):
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
        return ov.Tensor(raw_bits(array), array.shape, ov_type)
    return ov.Tensor(array, shared_memory=True)


class OpenVINOKerasTensor(OpenVINOKerasTensor):
    def __init__(self, x, data=None):
        # `x` is None for an eager result held in `data` alone: its
        # `Constant` is made when a graph first reads `output`, which a
        # result converted straight back to NumPy never does.
        self._output = x
        self.data = data
        if x is None:
            self.dtype = _keras_dtype(data.dtype)
            self.shape = data.shape
            self.ndim = data.ndim
            return
        self.dtype = ov_to_keras_type(x.get_element_type())
        partial_shape = x.get_partial_shape()
        if partial_shape.rank.is_dynamic:
            self.shape = None
            self.ndim = None
            return
        self.ndim = partial_shape.rank.get_length()
        # Indexed, not iterated: Python iterates a PartialShape through
        # `IndexError`, which costs more than a small eager op.
        dims = (partial_shape[axis] for axis in range(self.ndim))
        self.shape = tuple(
            dim.get_length() if dim.is_static else None for dim in dims
        )

    @property
    def output(self):
        if self._output is None:
            self._output = constant_from_numpy(self.data)
        return self._output

    @output.setter
    def output(self, x):
        self._output = x


# Keras dtype names of NumPy dtypes, as `ov_to_keras_type` names the
# OpenVINO type of each.
_KERAS_DTYPES = {}


def _keras_dtype(dtype):
    name = _KERAS_DTYPES.get(dtype)
    if name is None:
        ov_type = _OV_TYPES_OF_ML_DTYPES.get(dtype) or Type(dtype)
        name = _KERAS_DTYPES[dtype] = ov_to_keras_type(ov_type)
    return name


def tensor_from_numpy(array):
    """An eager `OpenVINOKerasTensor` of `array`, which it takes over."""
    return OpenVINOKerasTensor(None, data=array)


def constant_from_numpy(array):
    """A `Constant` holding `array`; it keeps `array` alive and unchanged."""
    array = np.asarray(array)
    if array.dtype in _OV_TYPES_OF_ML_DTYPES:
        # OpenVINO cannot hold on to NumPy's memory for these types: copy
        # the bits into a tensor it owns.
        ov_type = _OV_TYPES_OF_ML_DTYPES[array.dtype]
        tensor = ov.Tensor(ov_type, ov.Shape(list(array.shape)))
        raw_bits(tensor.data)[...] = raw_bits(array)
        return ov.op.Constant(tensor).output(0)
    # A 0-d array is copied: OpenVINO does not share scalar memory. The op
    # class itself, not `opset.constant`, whose decorators cost more than
    # the eager call of a small array.
    return ov.op.Constant(array, shared_memory=array.ndim > 0).output(0)


class _CompiledEntry:
    def __init__(self, compiled_model):
        self.compiled_model = compiled_model
        # Read once: every run reads its outputs one by one, in these dtypes.
        self.output_dtypes = [
            numpy_dtype(output.get_element_type())
            for output in compiled_model.outputs
        ]
        self.idle_requests = []
        # The plugin keeps a memory pool per compiled model, as large as the
        # largest result it made, even once every request is gone.
        self.pool_bytes = 0

    @property
    def held_bytes(self):
        return self.pool_bytes + sum(size for _, size in self.idle_requests)

    def read_outputs(self, request):
        """Views of `request`'s outputs in their NumPy dtypes, which its
        next inference writes over, and their total size in bytes."""
        # Not `request.output_tensors`, which takes longer than a small
        # model's inference.
        tensors = [
            request.get_output_tensor(index)
            for index in range(len(self.output_dtypes))
        ]
        views = [
            tensor.data.view(dtype)
            for tensor, dtype in zip(tensors, self.output_dtypes)
        ]
        return views, sum(tensor.byte_size for tensor in tensors)


class CompiledModelCache:
    """A bounded, thread-safe LRU of compiled models for eager execution.

    Only graphs whose every node the CPU plugin runs exactly belong here,
    keyed by a signature of their structure, never by data values. Each
    entry keeps up to `MAX_IDLE_REQUESTS` idle infer requests, so a thread
    never shares a request with another one while it runs. Past
    `max_size` entries or `max_bytes` of estimated plugin memory (pools
    and idle requests' outputs), the least recently used entries go.
    """

    def __init__(
        self,
        max_size=COMPILED_MODEL_CACHE_SIZE,
        max_bytes=COMPILED_MODEL_CACHE_BYTES,
    ):
        self.max_size = max_size
        self.max_bytes = max_bytes
        self.compilations = 0
        self._entries = collections.OrderedDict()
        self._lock = threading.Lock()
        self._compile_lock = threading.Lock()

    def __len__(self):
        return len(self._entries)

    @property
    def held_bytes(self):
        with self._lock:
            return sum(entry.held_bytes for entry in self._entries.values())

    def clear(self):
        with self._lock:
            self._entries.clear()

    def _acquire(self, key, build_model, overlapped=False):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                if entry.idle_requests:
                    return entry, entry.idle_requests.pop()[0]
        if entry is None:
            # One compilation at a time: threads missing the same key wait
            # for it instead of compiling it again.
            with self._compile_lock:
                with self._lock:
                    entry = self._entries.get(key)
                if entry is None:
                    config = dict(COMPILE_CONFIG)
                    if overlapped:
                        config.update(OVERLAPPED_COMPILE_CONFIG)
                    entry = _CompiledEntry(
                        ov.compile_model(build_model(), get_device(), config)
                    )
                    with self._lock:
                        self.compilations += 1
                        self._entries[key] = entry
        return entry, entry.compiled_model.create_infer_request()

    def _release(self, key, entry, request, result_bytes, keep_request):
        with self._lock:
            entry.pool_bytes = max(entry.pool_bytes, result_bytes)
            if keep_request and len(entry.idle_requests) < MAX_IDLE_REQUESTS:
                entry.idle_requests.append((request, result_bytes))
            entry = self._entries.setdefault(key, entry)
            self._entries.move_to_end(key)
            held = sum(kept.held_bytes for kept in self._entries.values())
            while self._entries and (
                len(self._entries) > self.max_size or held > self.max_bytes
            ):
                _, evicted = self._entries.popitem(last=False)
                held -= evicted.held_bytes

    def run(self, key, build_model, inputs):
        """Runs the model cached under `key`, compiling it on a miss.

        Args:
            key: A hashable signature of everything `build_model` depends on.
            build_model: Returns the `ov.Model` to compile on a miss.
            inputs: NumPy arrays, one per model parameter, read in place.

        Returns:
            A list of NumPy arrays that belong to the caller.
        """
        entry, request = self._acquire(key, build_model)
        # The request does not keep the tensors' NumPy memory alive: these
        # references do, until the inference is over.
        tensors = [shared_ov_tensor(array) for array in inputs]
        for index, tensor in enumerate(tensors):
            request.set_input_tensor(index, tensor)
        request.infer()
        results, result_bytes = entry.read_outputs(request)
        small = result_bytes <= MAX_COPIED_RESULT_BYTES
        # Small results are copied out of the request's output memory, which
        # the plugin reuses from call to call; large ones are handed over as
        # they are, and their request is dropped so that no later call
        # writes over them.
        if small:
            results = [np.array(result) for result in results]
        self._release(key, entry, request, result_bytes, small)
        return results

    def run_chunks(
        self,
        key,
        build_model,
        rows,
        *inputs,
        chunk_bytes,
        in_flight=1,
        fill_chunk=None,
    ):
        """Runs a model on `rows` chunk by chunk, up to `in_flight` chunks
        queued at a time.

        With `in_flight` above 1 the caller works while the plugin runs:
        its work on one chunk's outputs, and whatever it does before it
        iterates, overlaps the inference of the chunks queued after it.

        Args:
            key: As for `run`; the key's model is always run with
                `in_flight` 1, or always above 1.
            build_model: Returns the `ov.Model` to compile on a miss; its
                first parameter takes a chunk of `rows`, dynamic along
                axis 0.
            rows: A C-ordered NumPy array, cut along its first axis into
                chunks of at most `chunk_bytes` (or of one row).
            *inputs: The model's other inputs, given whole to every chunk.
            chunk_bytes: The largest size of a chunk of `rows`.
            in_flight: How many chunks are handed to the plugin at once.
            fill_chunk: If given, called as `fill_chunk(start, stop)` just
                before `rows[start:stop]` goes to the plugin, to write that
                chunk: the plugin then reads memory the caller has just
                written, while the caller writes the next chunks.

        Returns:
            An iterator of, for each chunk, the index of its first row and
            the model's outputs: views of a request's memory, which a later
            chunk writes over. Iterate it to the end, or close it.
        """
        num_chunks = max(1, -(-rows.nbytes // chunk_bytes))
        chunk = max(1, -(-len(rows) // num_chunks))
        acquired = []
        for _ in range(min(in_flight, -(-len(rows) // chunk))):
            acquired.append(self._acquire(key, build_model, in_flight > 1))
        chunks = self._run_chunks(
            key, acquired, rows, chunk, inputs, fill_chunk
        )
        next(chunks)
        return chunks

    def _run_chunks(self, key, acquired, rows, chunk, inputs, fill_chunk):
        # The requests do not keep the tensors' NumPy memory alive (a copy,
        # for read-only arrays): these references do, until the last chunk
        # and each running chunk's inference are over.
        tensors = [shared_ov_tensor(array) for array in inputs]
        for _, request in acquired:
            for index, tensor in enumerate(tensors, start=1):
                request.set_input_tensor(index, tensor)
        starts = range(0, len(rows), chunk)
        pieces = [None] * len(acquired)
        running = set()
        result_bytes = 0

        def start_chunk(index):
            turn = index % len(acquired)
            start, stop = starts[index], min(starts[index] + chunk, len(rows))
            if fill_chunk is not None:
                fill_chunk(start, stop)
            piece = rows[start:stop]
            pieces[turn] = shared_ov_tensor(piece)
            acquired[turn][1].set_input_tensor(0, pieces[turn])
            acquired[turn][1].start_async()
            running.add(turn)

        try:
            for index in range(len(acquired)):
                start_chunk(index)
            yield
            for index, start in enumerate(starts):
                entry, request = acquired[index % len(acquired)]
                request.wait()
                running.discard(index % len(acquired))
                outputs, output_bytes = entry.read_outputs(request)
                result_bytes = max(result_bytes, output_bytes)
                yield start, outputs
                if index + len(acquired) < len(starts):
                    start_chunk(index + len(acquired))
        finally:
            for turn in running:
                acquired[turn][1].wait()
            for entry, request in acquired:
                self._release(key, entry, request, result_bytes, True)

    def run_rows(self, key, build_model, rows, *inputs):
        """Runs a model whose output row `i` depends on row `i` of `rows`
        only, in chunks of `ROW_CHUNK_BYTES`, into one result array.

        Args:
            key: As for `run`.
            build_model: As for `run_chunks`; the model has one output.
            rows: A C-ordered NumPy array, cut along its first axis.
            *inputs: The model's other inputs, given whole to every chunk.

        Returns:
            The model's output for all of `rows`, a NumPy array that belongs
            to the caller.
        """
        if rows.nbytes <= ROW_CHUNK_BYTES or len(rows) == 1:
            return self.run(key, build_model, [rows, *inputs])[0]
        result = None
        chunks = self.run_chunks(
            key, build_model, rows, *inputs, chunk_bytes=ROW_CHUNK_BYTES
        )
        for start, (data,) in chunks:
            if result is None:
                result = np.empty((len(rows),) + data.shape[1:], data.dtype)
            result[start : start + len(data)] = data
        return result


compiled_model_cache = CompiledModelCache()


def _constant_array(node):
    data = node.get_data()
    ov_type = node.get_output_element_type(0)
    if ov_type in ML_DTYPES:
        data = data.view(ML_DTYPES[ov_type])
    return data


def _compile_and_run(output):
    """The value of a graph of constants, compiled and run as the Keras
    release runs every eager op."""
    try:
        compiled_model = ov.compile_model(
            ov.Model([output], []), get_device(), COMPILE_CONFIG
        )
        request = compiled_model.create_infer_request()
        request.infer()
    except Exception as error:
        raise RuntimeError(
            "`convert_to_numpy` failed to convert the tensor."
        ) from error
    # A copy: the plugin's output memory would keep the compiled model, and
    # with it the graph's constants, alive as long as the result.
    return np.array(request.get_output_tensor(0).data)


# Element types whose reference kernels compute what the CPU plugin computes
# when it folds a graph of constants at compile time. The plugin computes
# f16 and bf16 in f32 (with `COMPILE_CONFIG`), and 64-bit and u32 types in
# 32 bits: a graph holding any of those is compiled, as in the release, so
# that its result stays the release's.
REFERENCE_ELEMENT_TYPES = frozenset(
    (Type.f32, Type.i32, Type.i16, Type.i8, Type.u16, Type.u8, Type.boolean)
)


# Nodes whose reference kernel advances a generator each time it runs: one
# tensor converted twice would give two values. Compiled, as in the release,
# every conversion gives the values of the node's seeds.
STATEFUL_NODE_TYPES = frozenset(("RandomUniform", "Multinomial"))


def _is_stateful(model):
    return any(
        node.get_type_name() in STATEFUL_NODE_TYPES
        for node in model.get_ordered_ops()
    )


def _reference_kernels_apply(model):
    return all(
        output.get_element_type() in REFERENCE_ELEMENT_TYPES
        for node in model.get_ordered_ops()
        for output in node.outputs()
    )


def evaluate(output, reference_kernels=False):
    """The value of a graph of constants.

    Where they compute what the plugin's compile-time constant folding
    computes (`REFERENCE_ELEMENT_TYPES`), OpenVINO's reference kernels
    evaluate the graph without compiling it. They keep the subnormals and
    negative zeros that the plugin flushes to +0.0 while folding. Other
    graphs, and graphs with a node that has no reference kernel, are
    compiled and run as the release runs them. With
    `reference_kernels=True`, for a graph known to be right on them
    whatever its types (the backend's own), they always run when they can.
    A graph with a random node (`STATEFUL_NODE_TYPES`) is always compiled.
    """
    if output.get_element_type() == Type.boolean:
        # The plugin returns booleans as bytes; viewed as bool, not copied.
        output = ov_opset.convert(output, Type.u8).output(0)
        return evaluate(output, reference_kernels).view(bool)
    model = ov.Model([output], [])
    result = ov.Tensor(output.get_element_type(), [0])
    evaluated = False
    if not _is_stateful(model) and (
        reference_kernels or _reference_kernels_apply(model)
    ):
        try:
            evaluated = model.evaluate([result], [])
        except Exception:
            # No reference kernel for a node, or for its types: compiled.
            evaluated = False
    data = result.data if evaluated else _compile_and_run(output)
    return data.view(numpy_dtype(output.get_element_type()))


def has_value(x):
    """Whether the `OpenVINOKerasTensor` `x` is eager, not symbolic."""
    return x._output is None or is_concrete(x.output)


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
    if x._output is None:
        # An eager result that no graph has read: its own array.
        return x.data
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
