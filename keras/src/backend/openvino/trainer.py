import openvino as ov
import openvino.opset16 as ov_opset

from keras.src import tree
from keras.src.backend.common.masking import get_keras_mask
from keras.src.backend.openvino.core import COMPILE_CONFIG
from keras.src.backend.openvino.core import OpenVINOKerasTensor
from keras.src.backend.openvino.core import get_device
from keras.src.backend.openvino.trainer import OpenVINOTrainer


class OpenVINOTrainer(OpenVINOTrainer):
    def _get_compiled_model(self, data):
        """The model compiled for inputs shaped like `data`.

        Compiled with the backend's `COMPILE_CONFIG`, as eager ops are: with
        the plugin's default precision (bf16 on recent CPUs), `predict`
        would round what eager execution computes exactly.
        """
        input_shapes = self._get_data_shapes(data)
        if (
            self.ov_compiled_model is not None
            and self.ov_device == get_device()
            and getattr(self, "ov_input_shapes", None) == input_shapes
        ):
            return self.ov_compiled_model

        self.struct_params = self._parameterize_data(data)
        call_kwargs = {"training": False} if self._call_has_training_arg else {}
        self.struct_outputs = self(self.struct_params, **call_kwargs)
        outputs = tree.flatten(self.struct_outputs)
        results = [ov_opset.result(output.output) for output in outputs]
        self._n_main_outputs = len(results)
        # Masks come back as extra outputs, after the model's own.
        self._output_mask_indices = {}
        for index, output in enumerate(outputs):
            mask = get_keras_mask(output)
            if isinstance(mask, OpenVINOKerasTensor):
                self._output_mask_indices[index] = len(results)
                results.append(ov_opset.result(mask.output))
        parameters = [
            param.output.get_node()
            for param in tree.flatten(self.struct_params)
        ]
        self.ov_compiled_model = ov.compile_model(
            ov.Model(results=results, parameters=parameters),
            get_device(),
            COMPILE_CONFIG,
        )
        self.ov_device = get_device()
        self.ov_input_shapes = input_shapes
        return self.ov_compiled_model
