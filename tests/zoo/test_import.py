"""Importing Unterthiner et al.'s Small CNN Zoo format: a source written here in exactly
that format (TensorFlow layouts, bias first) round-trips, and the imported network
computes what the source network computes (checked against a plain NHWC loop)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from hyperrep import HyperrepError
from hyperrep.arch import to_module, vector_to_state_dict
from hyperrep.cli.main import main
from hyperrep.zoo import Zoo, import_zoo

STEPS = (0, 1, 20)


def _tf_layers(rng):
    """Kernels in TensorFlow layout (k, k, c_in, c_out) / (in, out), and biases."""
    shapes = [(3, 3, 1, 16), (3, 3, 16, 16), (3, 3, 16, 16), (16, 10)]
    return [
        (rng.normal(0, 0.3, s).astype(np.float32), rng.normal(0, 0.1, s[-1]).astype(np.float32))
        for s in shapes
    ]


def _row(layers):
    return np.concatenate([np.concatenate([b, k.ravel()]) for k, b in layers])


def _layout(layers):
    rows, start = [], 0
    names = ["conv2d", "conv2d_1", "conv2d_2", "dense"]
    for name, (k, b) in zip(names, layers, strict=True):
        rows.append((f"sequential/{name}/bias:0", start, start + b.size, str(b.shape)))
        start += b.size
        rows.append((f"sequential/{name}/kernel:0", start, start + k.size, str(k.shape)))
        start += k.size
    return pd.DataFrame(rows, columns=["varname", "start_idx", "end_idx", "shape"])


def _nhwc_forward(layers, x, act=np.tanh):
    """The source network as TensorFlow computes it: NHWC, 'valid' 3x3 stride-2 convs."""
    h = x
    for k, b in layers[:3]:
        n, hh, ww, _ = h.shape
        oh, ow = (hh - 3) // 2 + 1, (ww - 3) // 2 + 1
        out = np.zeros((n, oh, ow, k.shape[3]))
        for i in range(oh):
            for j in range(ow):
                patch = h[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3, :]
                out[:, i, j, :] = np.einsum("nabc,abcd->nd", patch, k)
        h = act(out + b)
    k, b = layers[3]
    return h.mean(axis=(1, 2)) @ k + b


@pytest.fixture()
def source(tmp_path):
    rng = np.random.default_rng(0)
    nets, rows, meta = {}, [], []
    for m, (init, lr) in enumerate(
        [("he_normal", 1e-3), ("glorot_uniform", 3e-3), ("he_normal", 1e-2)]
    ):
        for s in STEPS:
            layers = _tf_layers(rng)
            nets[(m, s)] = layers
            rows.append(_row(layers))
            meta.append(
                {
                    "config.activation": "tanh",
                    "config.b_init": "zeros",
                    "config.dataset": "mnist",
                    "config.dnn_architecture": "cnn",
                    "config.dropout": 0.0,
                    "config.epochs": 20,
                    "config.init_std": 0.1,
                    "config.l2reg": 1e-4,
                    "config.learning_rate": lr,
                    "config.optimizer": "adam",
                    "config.random_seed": 10 + m,
                    "config.train_fraction": 1.0,
                    "config.w_init": init,
                    "modeldir": f"run-{m}",
                    "step": s,
                    "test_accuracy": 0.1 + 0.01 * s,
                    "test_loss": 2.0,
                    "train_accuracy": 0.12 + 0.01 * s,
                    "train_loss": 1.9,
                }
            )
    weights = np.stack(rows)
    weights[5, 7] = np.nan  # model 1, step 20: a diverged checkpoint
    folder = tmp_path / "src"
    folder.mkdir()
    np.save(folder / "weights.npy", weights)
    pd.DataFrame(meta).to_csv(folder / "metrics.csv.gz", index=False)
    _layout(nets[(0, 0)]).to_csv(folder / "layout.csv", index=False)
    return folder, nets


def test_import_round_trips_and_computes_what_the_source_computes(source, tmp_path):
    folder, nets = source
    zoo = import_zoo("unterthiner", folder, tmp_path / "zoo", progress=False)
    assert zoo.architecture.n_params == 4970 and zoo.weights.shape == (3, 3, 4970)
    table = zoo.properties
    assert table["step"].tolist()[:3] == list(STEPS) and table["seed"].unique().tolist() == [
        10,
        11,
        12,
    ]
    assert table.groupby("model_index")["diverged"].first().tolist() == [False, True, False]
    np.testing.assert_allclose(table.loc[table["epoch"] == 2, "ggap"], 0.02, atol=1e-12)
    x = np.random.default_rng(1).normal(size=(4, 28, 28, 1))
    for (m, s), layers in nets.items():
        if (m, s) == (1, 20):
            continue
        model = to_module(zoo.architecture, "tanh")
        vector = torch.from_numpy(np.array(zoo.weights[m, STEPS.index(s)]))
        model.load_state_dict(vector_to_state_dict(zoo.architecture, vector))
        ours = model.double().eval()(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
        np.testing.assert_allclose(ours, _nhwc_forward(layers, x), rtol=1e-5, atol=1e-5)
    # it reads like any zoo: split by model, probes run unchanged
    assert zoo.verify() == []
    assert main(["zoo", "info", str(zoo.path)]) == 0


def test_an_imported_zoo_is_not_trained_further(source, tmp_path):
    folder, _ = source
    zoo = import_zoo("unterthiner", folder, tmp_path / "zoo", progress=False)
    from hyperrep.zoo import create_zoo

    with pytest.raises(HyperrepError, match="imported zoo"):
        create_zoo(zoo.config, tmp_path / "zoo", progress=False)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("no layout", "not a layout table"),
        ("short weights", "a row per metrics row"),
        ("no modeldir", "lacks column"),
        ("unknown format", "unknown zoo format"),
    ],
)
def test_malformed_sources_are_one_line(source, tmp_path, capsys, damage, message):
    folder, _ = source
    fmt = "unterthiner"
    if damage == "no layout":
        (folder / "layout.csv").write_text("nothing here\n")
    elif damage == "short weights":
        np.save(folder / "weights.npy", np.zeros((2, 4970), np.float32))
    elif damage == "no modeldir":
        pd.read_csv(folder / "metrics.csv.gz").drop(columns="modeldir").to_csv(
            folder / "metrics.csv.gz", index=False
        )
    else:
        fmt = "tensorflow-hub"
    assert main(["zoo", "import", fmt, str(folder), "--out", str(tmp_path / "z"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


@pytest.mark.slow
def test_an_imported_zoo_goes_through_evaluate_and_train(tmp_path):
    """An Unterthiner-style source as published: a pandas index column, every config
    column, steps in lexicographic order within a model, a NaN row; every hyperparameter
    the source varies becomes a probe row."""
    rng = np.random.default_rng(0)
    rows, meta, layers = [], [], None
    steps = sorted((0, 3, 20), key=str)  # 0, 20, 3: the published row order
    for m in range(30):
        run = {  # continuous hyperparameters, drawn once per run as in the source
            "config.dropout": rng.uniform(0, 0.5),
            "config.init_std": rng.uniform(0.01, 0.5),
            "config.l2reg": rng.uniform(1e-6, 1e-2),
            "config.learning_rate": rng.uniform(1e-4, 1e-2),
            "config.train_fraction": rng.uniform(0.1, 1.0),
        }
        for s in steps:
            layers = _tf_layers(rng)
            rows.append(_row(layers))
            meta.append(
                {
                    **run,
                    "config.activation": ("relu", "tanh")[m % 2],
                    "config.b_init": "zeros",
                    "config.dataset": "mnist",
                    "config.dnn_architecture": "cnn",
                    "config.epochs": 20,
                    "config.epochs_between_checkpoints": 1,
                    "config.num_layers": 3,
                    "config.num_units": 16,
                    "config.optimizer": ("adam", "sgd", "rmsprop")[m % 3],
                    "config.random_seed": m,
                    "config.w_init": ("he_normal", "orthogonal", "glorot_normal")[m % 3 - 1],
                    "modeldir": f"run-{m}",
                    "step": s,
                    "test_accuracy": rng.uniform(),
                    "test_loss": 2.0,
                    "train_accuracy": rng.uniform(),
                    "train_loss": 1.9,
                }
            )
    weights = np.stack(rows)
    weights[-1] = np.nan  # the last run's last row diverged
    src = tmp_path / "src"
    src.mkdir()
    np.save(src / "weights.npy", weights)
    pd.DataFrame(meta).to_csv(src / "metrics.csv")  # with pandas' index column
    _layout(layers).to_csv(src / "layout.csv", index=False)
    zoo = str(tmp_path / "zoo")
    assert main(["zoo", "import", "unterthiner", str(src), "--out", zoo, "--quiet"]) == 0
    props = Zoo(zoo).properties
    assert {"train_fraction", "init_std", "b_init", "num_units"} <= set(props.columns)
    assert "Unnamed: 0" not in props.columns
    first = props[props["model_index"] == 0].sort_values("epoch")
    assert first["step"].tolist() == [0, 3, 20]  # sorted, whatever the row order
    argv = ["evaluate", "baselines", zoo, "--out", str(tmp_path / "r"), "--umap-points", "0"]
    assert main([*argv, "--quiet"]) == 0
    report = pd.read_csv(tmp_path / "r" / "results.csv", index_col=0)
    assert {"Eph", "Acc", "GGap", "LR", "L2", "Drop", "TF", "InitStd"} <= set(report.index)
    assert {"Act", "Init", "Opt"} <= set(report.index)
    argv = ["train", zoo, "--out", str(tmp_path / "run"), "--epochs", "1", "--d-model", "16"]
    assert main([*argv, "--quiet"]) == 0


def test_a_model_missing_a_step_keeps_its_other_checkpoints(source, tmp_path):
    folder, _ = source
    keep = [i for i in range(9) if i != 7]  # model 2 loses its step-1 checkpoint
    np.save(folder / "weights.npy", np.load(folder / "weights.npy")[keep])
    metrics = pd.read_csv(folder / "metrics.csv.gz")
    metrics.iloc[keep].to_csv(folder / "metrics.csv.gz", index=False)
    zoo = import_zoo("unterthiner", folder, tmp_path / "zoo", progress=False)
    rows = zoo.properties[zoo.properties["model_index"] == 2]
    assert not rows["diverged"].any() and rows["missing"].tolist() == [False, True, False]
    assert np.isnan(rows.loc[rows["epoch"] == 1, "test_acc"]).all()
    assert not zoo.weights[2, 1].any()  # nothing stored for the missing step
    assert zoo.verify() == []  # the zero row is a flagged gap, not damage
    used = zoo.checkpoints(include_init=True)
    assert set(zip(used["model_index"], used["epoch"], strict=True)) == {
        (m, e) for m in (0, 2) for e in range(3) if (m, e) != (2, 1)
    }  # model 1 diverged (a NaN checkpoint in the source)
    assert zoo.summary()["missing"] == 1


def _trials(root, n=12, epochs=3, rng=None):
    """Ray-Tune trial folders of Tetris MLPs, as the authors' zoos store them."""
    from hyperrep.arch import create_architecture

    rng = rng or np.random.default_rng(0)
    arch = create_architecture("tetris-mlp")
    vectors = {}
    for m in range(n):
        trial = root / f"NN_tune_trainable_{m:05d}_seed={m}"
        trial.mkdir(parents=True)
        (trial / "params.json").write_text(
            json.dumps(
                {
                    "model::type": "MLP",
                    "model::nlin": ("tanh", "relu")[m % 2],
                    "model::init_type": "kaiming_uniform",
                    "model::dropout": 0.0,
                    "optim::optimizer": "adam",
                    "optim::lr": (1e-3, 1e-4)[m % 2],
                    "optim::wd": 0.0,
                    "seed": m,
                    "training::epochs_train": epochs,
                }
            )
        )
        lines = []
        for e in range(epochs + 1):
            vector = torch.from_numpy(rng.normal(size=arch.n_params).astype(np.float32))
            vectors[(m, e)] = vector
            state = {f"module_list.{k}": v for k, v in vector_to_state_dict(arch, vector).items()}
            folder = trial / (f"checkpoint_{e}" if m % 2 else f"checkpoint_{e:06d}")
            folder.mkdir()
            torch.save(state, folder / "checkpoints")
            lines.append(
                json.dumps(
                    {
                        "training_iteration": e,
                        "train_loss": 1.0 - 0.1 * e,
                        "train_acc": 0.3 + 0.1 * e,
                        "test_loss": 1.1,
                        "test_acc": 0.25 + 0.1 * e,
                    }
                )
            )
        (trial / "result.json").write_text("\n".join(lines) + "\n")
    return vectors


def test_raytune_trials_round_trip(tmp_path):
    vectors = _trials(tmp_path / "src")
    zoo = import_zoo("raytune", tmp_path / "src", tmp_path / "zoo", progress=False)
    assert zoo.architecture.name == "tetris-mlp" and zoo.weights.shape == (12, 4, 100)
    for (m, e), vector in vectors.items():
        np.testing.assert_array_equal(zoo.weights[m, e], vector.numpy())
    table = zoo.properties
    assert set(table["activation"]) == {"tanh", "relu"} and set(table["lr"]) == {1e-3, 1e-4}
    np.testing.assert_allclose(table.loc[table["epoch"] == 2, "test_acc"], 0.45)
    assert zoo.verify() == [] and zoo.config.source.startswith("Ray-Tune")


def test_raytune_checkpoint_with_code_is_refused(tmp_path, capsys):
    _trials(tmp_path / "src", n=2)
    bad = next((tmp_path / "src").glob("*00001*")) / "checkpoint_1" / "checkpoints"
    torch.save({"module_list.0.weight": _Payload()}, bad)
    assert (
        main(
            [
                "zoo",
                "import",
                "raytune",
                str(tmp_path / "src"),
                "--out",
                str(tmp_path / "z"),
                "--quiet",
            ]
        )
        == 2
    )
    captured = capsys.readouterr()
    assert "code ran" not in captured.out and "without running code" in captured.err


class _Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def _authors_cnn_s(dropout: float, channels: int = 1) -> torch.nn.ModuleList:
    """The Model Zoos CNN-s as its `def_net.py` builds it: a ModuleList whose indices shift
    when dropout modules are present."""
    nn = torch.nn
    layers = [nn.Conv2d(channels, 8, 5), nn.MaxPool2d(2, 2), nn.Tanh()]
    layers += [nn.Dropout(dropout)] if dropout > 0 else []
    layers += [nn.Conv2d(8, 6, 5), nn.MaxPool2d(2, 2), nn.Tanh()]
    layers += [nn.Dropout(dropout)] if dropout > 0 else []
    layers += [nn.Conv2d(6, 4, 2), nn.Tanh(), nn.Flatten(), nn.Linear(36, 20), nn.Tanh()]
    layers += [nn.Dropout(dropout)] if dropout > 0 else []
    layers += [nn.Linear(20, 10)]
    return nn.ModuleList(layers)


class _Net(torch.nn.Module):
    def __init__(self, dropout: float, channels: int = 1) -> None:
        super().__init__()
        self.module_list = _authors_cnn_s(dropout, channels)

    def forward(self, x):
        for layer in self.module_list:
            x = layer(x)
        return x


def _model_zoos_source(root, n=8, epochs=2, channels=1):
    """A Model Zoos zoo folder as published: the root's config.json, readme.md and a pickled
    dataset.pt; one Ray trial folder per model with params.json (keys the network ignores
    included), params.pkl, progress.csv, result.json (iteration 0 = the untrained model with
    -999 train metrics) and checkpoint_<e:06d> folders holding `checkpoints` and
    `optimizer` beside Ray's metadata files."""
    root.mkdir(parents=True)
    (root / "config.json").write_text("{}")
    (root / "readme.md").write_text("")
    torch.save({"trainset": _Payload()}, root / "dataset.pt")  # would run code if loaded
    nets = {}
    for m in range(n):
        torch.manual_seed(m)
        dropout = (0.0, 0.5)[m % 2]
        net = _Net(dropout, channels)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        trial = root / f"NN_tune_trainable_{m:05d}_{m}_nlin=tanh,seed={m}_2021-05-0{m % 9}_10-00-00"
        trial.mkdir()
        params = {
            "model::type": "CNN",
            "model::channels_in": channels,
            "model::o_dim": 4,  # ignored by the network, as in the published zoos
            "model::use_bias": False,
            "model::nlin": "tanh",
            "model::dropout": dropout,
            "model::init_type": ("kaiming_uniform", "uniform")[m % 3 == 0],
            "optim::optimizer": "sgd",
            "optim::lr": 0.01,
            "optim::wd": (0.0, 1e-3)[m % 2],
            "optim::momentum": 0.9,
            "training::batchsize": (10, 20)[m % 4 == 0],
            "seed": 1000 + m,
            "dataset::dump": "/data/zoos/MNIST/tune_zoo_mnist/dataset.pt",
            "cuda": False,
        }
        (trial / "params.json").write_text(json.dumps(params))
        torch.save(params, trial / "params.pkl")
        (trial / "progress.csv").write_text("train_loss,train_acc\n")
        lines = []
        for e in range(epochs + 1):
            if e:
                x = torch.randn(20, channels, 28, 28)
                loss = net(x).square().mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            nets[(m, e)] = {k: v.clone() for k, v in net.state_dict().items()}
            folder = trial / f"checkpoint_{e:06d}"
            folder.mkdir()
            torch.save(net.state_dict(), folder / "checkpoints")
            torch.save(optimizer.state_dict(), folder / "optimizer")
            (folder / ".is_checkpoint").write_text("")
            (folder / ".tune_metadata").write_bytes(b"\x80\x04K\x01.")
            train = (-999, -999) if e == 0 else (1.5 - 0.1 * e, 0.5 + 0.1 * e)
            lines.append(
                {
                    "train_loss": train[0],
                    "train_acc": train[1],
                    "test_loss": 2.0 - 0.1 * e,
                    "test_acc": 0.1 + 0.2 * e + 0.01 * m,
                    "training_iteration": e,
                    "config": params,
                    "time_this_iter_s": 1.0,
                    "trial_id": f"{m:05d}",
                }
            )
        (trial / "result.json").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return nets


@pytest.mark.parametrize("channels", [1, 3])
def test_model_zoos_trials_import_as_published(tmp_path, channels):
    nets = _model_zoos_source(tmp_path / "src", channels=channels)
    zoo = import_zoo("raytune", tmp_path / "src", tmp_path / "zoo", progress=False)
    arch = zoo.architecture
    assert arch.name == ("mnist-cnn", "cnn-s-rgb")[channels == 3]
    assert zoo.weights.shape == (8, 3, arch.n_params) and zoo.config.dataset == "mnist"
    x = torch.randn(5, channels, 28, 28)
    for (m, e), state in nets.items():
        source = _Net((0.0, 0.5)[m % 2], channels)
        source.load_state_dict(state)
        ours = to_module(arch, "tanh")
        ours.load_state_dict(vector_to_state_dict(arch, torch.from_numpy(zoo.weights[m, e].copy())))
        source.eval(), ours.eval()
        torch.testing.assert_close(ours(x), source(x), rtol=0, atol=1e-6)
    table = zoo.properties.sort_values(["model_index", "epoch"])
    first = table[table["epoch"] == 0]
    assert first["train_acc"].isna().all() and first["ggap"].isna().all()  # -999: unknown
    np.testing.assert_allclose(first["test_acc"], 0.1 + 0.01 * np.arange(8))
    last = table[table["epoch"] == 2]
    np.testing.assert_allclose(last["train_acc"], 0.7)
    np.testing.assert_allclose(last["test_acc"], 0.5 + 0.01 * np.arange(8))
    assert set(table["dropout"]) == {0.0, 0.5} and set(table["weight_decay"]) == {0.0, 1e-3}
    assert set(table["training_batchsize"]) == {10, 20}  # a varying key the grid lacks
    assert "model_o_dim" not in table.columns and not table["diverged"].any()


def test_model_zoos_checkpoint_folder_with_two_unknown_files_is_one_line(tmp_path, capsys):
    _model_zoos_source(tmp_path / "src", n=2)
    folder = next((tmp_path / "src").glob("*00001*")) / "checkpoint_000001"
    (folder / "checkpoints").rename(folder / "model.pt")
    (folder / "other.pt").write_bytes(b"")
    argv = ["zoo", "import", "raytune", str(tmp_path / "src"), "--out", str(tmp_path / "z")]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model.pt, other.pt" in err, err


@pytest.mark.slow
def test_a_model_zoos_import_is_probed_on_its_hyperparameters(tmp_path):
    _model_zoos_source(tmp_path / "src", n=30)
    zoo = str(tmp_path / "zoo")
    assert main(["zoo", "import", "raytune", str(tmp_path / "src"), "--out", zoo, "--quiet"]) == 0
    argv = ["evaluate", "baselines", zoo, "--out", str(tmp_path / "r"), "--umap-points", "0"]
    assert main([*argv, "--quiet"]) == 0
    report = pd.read_csv(tmp_path / "r" / "results.csv", index_col=0)
    assert {"Eph", "Acc", "GGap", "L2", "Drop", "Init"} <= set(report.index)


class _Block(torch.nn.Module):
    """torchvision's BasicBlock, written out: the names its state_dict uses."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class _ResNet18(torch.nn.Module):
    """torchvision's ResNet-18 with the CIFAR stem of the Model Zoos data set."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        widths, c = (64, 128, 256, 512), 64
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(_Block(c, w, stride), _Block(w, w, 1)))
            c = w
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(x.mean(dim=(2, 3)))


@pytest.mark.slow
def test_a_model_zoos_resnet18_trial_imports_with_torchvision_names(tmp_path):
    """BatchNorm running statistics stay out of the weight vector; the imported network,
    which normalises with batch statistics, computes what the source computes in train
    mode."""
    torch.manual_seed(0)
    net = _ResNet18()
    trial = tmp_path / "src" / "NN_tune_trainable_00000_0_seed=1_2022-01-01_00-00-00"
    trial.mkdir(parents=True)
    params = {
        "model::type": "Resnet18",
        "model::nlin": "relu",
        "model::init_type": "kaiming_uniform",
        "model::dropout": 0.0,
        "optim::optimizer": "sgd",
        "optim::lr": 0.1,
        "optim::wd": 5e-4,
        "seed": 1,
        "dataset::dump": "/zoos/CIFAR10/resnet18/dataset.pt",
    }
    (trial / "params.json").write_text(json.dumps(params))
    states, lines = [], []
    for e in range(2):
        net(torch.randn(8, 3, 32, 32))  # train mode: running statistics move
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.01 * torch.randn_like(p))
        states.append({k: v.clone() for k, v in net.state_dict().items()})
        (trial / f"checkpoint_{e:06d}").mkdir()
        torch.save(net.state_dict(), trial / f"checkpoint_{e:06d}" / "checkpoints")
        lines.append(json.dumps({"training_iteration": e, "test_acc": 0.1, "train_acc": -999}))
    (trial / "result.json").write_text("\n".join(lines) + "\n")
    zoo = import_zoo("raytune", tmp_path / "src", tmp_path / "zoo", progress=False)
    arch = zoo.architecture
    assert arch.name == "resnet18-cifar10" and arch.n_params == 11_173_962
    assert zoo.config.dataset == "cifar10"
    x = torch.randn(6, 3, 32, 32)
    for e, state in enumerate(states):
        net.load_state_dict(state)
        ours = to_module(arch, "relu")
        ours.load_state_dict(vector_to_state_dict(arch, torch.from_numpy(zoo.weights[0, e].copy())))
        torch.testing.assert_close(ours.eval()(x), net.train()(x), rtol=1e-4, atol=1e-4)
