"""
Formatters for trained models, with the names of law's ``keras`` and ``tensorflow`` contrib
packages, plus ``torch_model`` for PyTorch:

================== ============================ =============================================
name               extensions                   load / dump
================== ============================ =============================================
keras_model        .keras .h5 .hdf5 .json       ``keras.models.load_model`` / ``model.save``;
                   .yaml .yml                   .json: the architecture only
keras_weights      .weights.h5 .h5 .hdf5        ``model.load_weights`` / ``save_weights``
tf_keras           (by name only; deprecated)   as keras_model, through ``tf.keras``
tf_graph           .pb .pbtxt .pb.txt           a ``tf.Graph`` (and a v1 session) / a graph
                                                of a function, concrete function or model
tf_saved_model     no extension (a directory)   ``tf.saved_model.load`` / ``save``
tf_keras_model     .keras .h5 .hdf5 .json ...   as keras_model through ``tf.keras``; no
                   and no extension             extension: ``model.export`` (SavedModel)
tf_keras_weights   .weights.h5 .h5 .hdf5        as keras_weights
torch_model        .pt .pth                     ``torch.load`` / ``torch.save`` (a model,
                                                a state dict, any picklable object)
================== ============================ =============================================

The libraries are imported on first use; a missing one names ``pip install 'pipekit[ml]'``.
Keras 3 runs on the TensorFlow, JAX or PyTorch backend (``KERAS_BACKEND``); the ``keras_*``
formatters need only keras and one backend.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from pipekit.errors import FormatterError
from pipekit.target.formatter import Formatter, path_ends, path_ext, path_of, require_module

__all__ = [
    "KerasModelFormatter", "KerasWeightsFormatter", "TFKerasModelFormatter",
    "TFGraphFormatter", "TFSavedModelFormatter", "TFKerasWeightsFormatter",
    "DeprecatedTFKerasFormatter", "TorchModelFormatter",
]

ML = "ml"
logger = logging.getLogger("pipekit.target")


def _keras() -> Any:
    return require_module("keras", ML, "the keras formatters")


def _tf() -> Any:
    return require_module("tensorflow", ML, "the tensorflow formatters",
                          "install it with: pip install 'pipekit[ml]' (tensorflow-cpu)")


def _load_model(models: Any, path: str, *args: Any, **kwargs: Any) -> Any:
    if path_ends(path, ".json"):
        with open(path) as f:
            return models.model_from_json(f.read(), *args, **kwargs)
    if path_ends(path, ".yaml", ".yml"):
        if not hasattr(models, "model_from_yaml"):
            raise FormatterError(f"this keras cannot read models from YAML ({path}); keras "
                                 "removed YAML support in 2.6: save the model as .keras or .json")
        with open(path) as f:
            return models.model_from_yaml(f.read(), *args, **kwargs)
    return models.load_model(path, *args, **kwargs)


def _save_model(model: Any, path: str, *args: Any, **kwargs: Any) -> Any:
    if path_ends(path, ".json"):
        with open(path, "w") as f:
            f.write(model.to_json(*args, **kwargs))
        return None
    if path_ends(path, ".yaml", ".yml"):
        if not hasattr(model, "to_yaml"):
            raise FormatterError(f"this keras cannot write models as YAML ({path}); keras "
                                 "removed YAML support in 2.6: use .keras or .json")
        with open(path, "w") as f:
            f.write(model.to_yaml(*args, **kwargs))
        return None
    return model.save(path, *args, **kwargs)


_MODEL_EXTS = (".keras", ".h5", ".hdf5", ".json", ".yaml", ".yml")


class KerasModelFormatter(Formatter):
    """Keras models: the whole model (``.keras``, ``.h5``) or its architecture (``.json``)."""

    name = "keras_model"
    contrib = "keras"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, *_MODEL_EXTS)

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        return _load_model(_keras().models, path_of(path), *args, **kwargs)

    @classmethod
    def dump(cls, path: str, model: Any, *args: Any, **kwargs: Any) -> Any:
        return _save_model(model, path_of(path), *args, **kwargs)


class KerasWeightsFormatter(Formatter):
    """The weights of a model: ``load(path, model)`` fills *model*, ``dump(path, model)``."""

    name = "keras_weights"
    contrib = "keras"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".h5", ".hdf5")

    @classmethod
    def load(cls, path: str, model: Any, *args: Any, **kwargs: Any) -> Any:
        return model.load_weights(path_of(path), *args, **kwargs)

    @classmethod
    def dump(cls, path: str, model: Any, *args: Any, **kwargs: Any) -> Any:
        return model.save_weights(path_of(path), *args, **kwargs)


class DeprecatedTFKerasFormatter(Formatter):
    """law's deprecated ``keras.TFKerasModelFormatter`` (``tf_keras``): use ``tf_keras_model``."""

    name = "tf_keras"
    contrib = "keras"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return False  # as in law: only by name

    @classmethod
    def _warn(cls) -> None:
        logger.warning("formatter 'tf_keras' is deprecated (as in law); use 'tf_keras_model' "
                       "(law.tensorflow.TFKerasModelFormatter)")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        cls._warn()
        return _tf().keras.models.load_model(path_of(path), *args, **kwargs)

    @classmethod
    def dump(cls, path: str, model: Any, *args: Any, **kwargs: Any) -> Any:
        cls._warn()
        return model.save(path_of(path), *args, **kwargs)


class TFKerasModelFormatter(Formatter):
    """
    Keras models through ``tf.keras``; a path without extension is a SavedModel directory
    (``model.export`` with Keras 3, ``model.save`` before).
    """

    name = "tf_keras_model"
    contrib = "tensorflow"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ext(path) in _MODEL_EXTS + ("",)

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        tf = _tf()
        p = path_of(path)
        if not path_ext(p) and not hasattr(tf.keras.models, "model_from_yaml"):
            # keras 3 cannot load a SavedModel as a keras model
            return tf.saved_model.load(p, *args, **kwargs)
        return _load_model(tf.keras.models, p, *args, **kwargs)

    @classmethod
    def dump(cls, path: str, model: Any, *args: Any, **kwargs: Any) -> Any:
        p = path_of(path)
        if not path_ext(p) and hasattr(model, "export"):
            return model.export(p, *args, **kwargs)
        return _save_model(model, p, *args, **kwargs)


class TFKerasWeightsFormatter(KerasWeightsFormatter):
    """The weights of a ``tf.keras`` model (as :class:`KerasWeightsFormatter`)."""

    name = "tf_keras_weights"
    contrib = "tensorflow"


class TFSavedModelFormatter(Formatter):
    """TensorFlow SavedModel directories: ``tf.saved_model.load`` / ``tf.saved_model.save``."""

    name = "tf_saved_model"
    contrib = "tensorflow"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return not path_ext(path)

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        return _tf().saved_model.load(path_of(path), *args, **kwargs)

    @classmethod
    def dump(cls, path: str, model: Any, *args: Any, **kwargs: Any) -> Any:
        return _tf().saved_model.save(model, path_of(path), *args, **kwargs)


class TFGraphFormatter(Formatter):
    """
    TensorFlow graphs as protobuf (``.pb``) or text (``.pbtxt``). ``load(path,
    create_session=None, as_text=None)`` returns the graph, or ``(graph, session)`` with
    *create_session* (v1 API). ``dump(path, obj, variables_to_constants=False)`` takes a graph,
    GraphDef, v1 session, ``tf.function`` with an input signature, concrete function or a built
    keras model.
    """

    name = "tf_graph"
    contrib = "tensorflow"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".pb", ".pbtxt", ".pb.txt")

    @classmethod
    def load(cls, path: str, create_session: bool | None = None, as_text: bool | None = None) -> Any:
        tf = _tf()
        p = path_of(path)
        v1 = tf.compat.v1
        if as_text is None:
            as_text = path_ends(p, ".pbtxt", ".pb.txt")
        graph_def = v1.GraphDef()
        with open(p, "rb") as f:
            data = f.read()
        if as_text:
            from google.protobuf import text_format

            text_format.Merge(data, graph_def)
        else:
            graph_def.ParseFromString(data)
        graph = tf.Graph()
        with graph.as_default():
            tf.import_graph_def(graph_def, name="")
        if create_session:
            return graph, v1.Session(graph=graph)
        return graph

    @classmethod
    def _concrete(cls, tf: Any, obj: Any) -> Any:
        if hasattr(obj, "inputs") and callable(obj) and hasattr(obj, "layers"):
            # a built keras model: trace it with its own input signature
            specs = [tf.TensorSpec(i.shape, i.dtype) for i in obj.inputs]
            return tf.function(lambda *x: obj(*x)).get_concrete_function(*specs)
        if hasattr(obj, "get_concrete_function"):
            if getattr(obj, "input_signature", None) is None and getattr(
                    getattr(obj, "function_spec", None), "arg_names", None):
                raise FormatterError("tf_graph: a tf.function taking arguments needs an "
                                     "input_signature to be saved as a graph")
            return obj.get_concrete_function()
        return obj

    @classmethod
    def dump(cls, path: str, obj: Any, variables_to_constants: bool = False,
             output_names: Any = None, *args: Any, **kwargs: Any) -> Any:
        tf = _tf()
        p = path_of(path)
        v1 = tf.compat.v1
        kwargs.setdefault("as_text", path_ends(p, ".pbtxt", ".pb.txt"))
        if not isinstance(obj, (tf.Graph, v1.GraphDef, v1.Session)):
            obj = cls._concrete(tf, obj)
        if variables_to_constants:
            if isinstance(obj, v1.Session):
                if not output_names:
                    raise FormatterError("tf_graph: variables_to_constants with a session needs "
                                         "output_names (the operations to keep)")
                obj = v1.graph_util.convert_variables_to_constants(
                    obj, obj.graph.as_graph_def(), list(output_names))
            else:
                from tensorflow.python.framework import convert_to_constants

                obj = convert_to_constants.convert_variables_to_constants_v2(obj)
        graph = obj.graph if hasattr(obj, "graph") and not isinstance(obj, tf.Graph) else obj
        directory, name = os.path.split(p)
        return tf.io.write_graph(graph, directory, name, *args, **kwargs)


class TorchModelFormatter(Formatter):
    """
    PyTorch objects (``.pt``, ``.pth``): a model, its ``state_dict()``, or any picklable object,
    through ``torch.save`` / ``torch.load`` (``weights_only`` as torch defaults it).
    """

    name = "torch_model"
    contrib = "torch"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".pt", ".pth")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        torch = require_module("torch", ML, "the torch_model formatter",
                               "install it with: pip install torch (see docs for a CPU build)")
        return torch.load(path_of(path), *args, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        torch = require_module("torch", ML, "the torch_model formatter",
                               "install it with: pip install torch (see docs for a CPU build)")
        return torch.save(obj, path_of(path), *args, **kwargs)
