"""
The model formatters (pipekit.target.ml_formats: law's keras and tensorflow packages, and
torch_model) with real, tiny models saved and loaded by the real libraries (keras 3 on the
TensorFlow backend, tensorflow-cpu, torch's CPU build).
"""

from __future__ import annotations

import importlib
import importlib.util
import os

import pytest

import pipekit as law

np = pytest.importorskip("numpy")


def need(module: str):
    if importlib.util.find_spec(module) is None:
        if os.getenv("CI", "").lower() == "true":
            pytest.fail(f"{module} is not installed (pip install -e '.[test]')")
        pytest.skip(f"{module} is not installed")
    return importlib.import_module(module)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    need("tensorflow")
    return need("keras")


@pytest.fixture
def model(keras):
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    m.compile(loss="mse")
    return m


@pytest.fixture
def out(tmp_path):
    return lambda name: law.LocalFileTarget(str(tmp_path / name))


X = np.array([[1.0, 2.0, 3.0]], dtype="float32")


def test_keras_model_round_trips_as_keras_and_h5_with_equal_predictions(model, out):
    for name in ("model.keras", "model.h5"):
        target = out(name)
        target.dump(model, formatter="keras_model")
        # keras 3 cannot restore the compiled loss from legacy .h5: kwargs reach load_model
        back = target.load(formatter="keras_model", compile=name.endswith(".keras"))
        assert np.allclose(back.predict(X, verbose=0), model.predict(X, verbose=0)), name


def test_keras_model_json_keeps_the_architecture_only(model, out):
    target = out("arch.json")
    target.dump(model, formatter="keras_model")
    back = target.load(formatter="keras_model")
    assert [layer.name for layer in back.layers] == ["dense"]
    assert back.count_params() == model.count_params()


def test_keras_model_yaml_explains_that_keras_dropped_it(model, out):
    with pytest.raises(Exception, match="removed YAML support"):
        out("arch.yaml").dump(model, formatter="keras_model")


def test_keras_weights_fill_a_fresh_model(keras, model, out):
    target = out("w.weights.h5")
    target.dump(model, formatter="keras_weights")
    fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    target.load(fresh, formatter="keras_weights")
    assert np.allclose(fresh.predict(X, verbose=0), model.predict(X, verbose=0))


def test_tf_graph_of_a_function_loads_as_a_graph_with_its_operations(keras, out):
    tf = need("tensorflow")

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def times_two(x):
        return tf.multiply(x, 2.0, name="result")

    for name in ("graph.pb", "graph.pbtxt"):
        target = out(name)
        target.dump(times_two, formatter="tf_graph")
        graph = target.load(formatter="tf_graph")
        assert any(op.name == "result" for op in graph.get_operations()), name
    with open(out("graph.pbtxt").path) as f:
        assert "node" in f.read()  # the text format


def test_tf_graph_of_a_keras_model_with_variables_as_constants(model, out):
    tf = need("tensorflow")
    target = out("frozen.pb")
    target.dump(model, formatter="tf_graph", variables_to_constants=True)
    graph, session = target.load(formatter="tf_graph", create_session=True)
    assert isinstance(session, tf.compat.v1.Session)
    assert not any(op.type == "VarHandleOp" for op in graph.get_operations())
    session.close()


def test_tf_saved_model_directory_round_trip(keras, out):
    tf = need("tensorflow")
    module = tf.Module()
    module.v = tf.Variable(3.0)
    module.f = tf.function(lambda x: x * module.v, input_signature=[tf.TensorSpec([], tf.float32)])
    target = out("saved")  # no extension: a SavedModel directory
    target.dump(module, formatter="tf_saved_model")
    assert os.path.isfile(os.path.join(target.path, "saved_model.pb"))
    assert float(target.load(formatter="tf_saved_model").f(tf.constant(2.0))) == 6.0


def test_tf_keras_model_exports_without_extension_and_saves_keras_files(model, out):
    need("tensorflow")
    exported = out("exported")
    exported.dump(model, formatter="tf_keras_model")
    loaded = exported.load(formatter="tf_keras_model")
    assert np.allclose(loaded.serve(X).numpy(), model.predict(X, verbose=0))
    target = out("m.keras")
    target.dump(model, formatter="tf_keras_model")
    assert np.allclose(target.load(formatter="tf_keras_model").predict(X, verbose=0),
                       model.predict(X, verbose=0))


def test_deprecated_tf_keras_formatter_warns_and_still_works(model, out, caplog):
    target = out("old.keras")
    target.dump(model, formatter="tf_keras")
    assert "deprecated" in caplog.text
    assert target.load(formatter="tf_keras").count_params() == model.count_params()


def test_torch_model_and_state_dict_round_trip(out):
    torch = need("torch")
    net = torch.nn.Linear(3, 2)
    x = torch.tensor([[1.0, 2.0, 3.0]])
    target = out("net.pt")
    target.dump(net.state_dict(), formatter="torch_model")
    fresh = torch.nn.Linear(3, 2)
    fresh.load_state_dict(target.load(formatter="torch_model"))
    assert torch.allclose(fresh(x), net(x))
    whole = out("whole.pth")
    whole.dump(net, formatter="torch_model")
    assert torch.allclose(whole.load(formatter="torch_model", weights_only=False)(x), net(x))


def test_model_formatters_join_auto_once_their_package_is_loaded(monkeypatch):
    from pipekit.target import formatter as fmt

    monkeypatch.setattr(fmt, "_active_contribs", [])
    assert fmt.find_formatter("m.keras", "dump").name == "keras_model"  # only one takes .keras
    fmt.activate_contrib("tensorflow")
    assert fmt.find_formatter("m.keras", "dump").name == "tf_keras_model"
    assert fmt.find_formatter("g.pb", "load").name == "tf_graph"
