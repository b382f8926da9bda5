"""The architectures of the paper, registered by name."""

from __future__ import annotations

from hyperrep._registry import Registry
from hyperrep.arch._layers import (
    Activation,
    BatchNorm2d,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Linear,
    MaxPool2d,
    ResidualAdd,
    ResidualStart,
    ShortcutBatchNorm2d,
    ShortcutConv2d,
)
from hyperrep.arch._spec import Architecture

ARCHITECTURES: Registry[Architecture] = Registry("architecture")
register_architecture = ARCHITECTURES.register


@register_architecture("tetris-mlp")
def tetris_mlp() -> Architecture:
    """Appendix Table 3: 16-5-4 MLP without biases, 100 parameters."""
    return Architecture(
        "tetris-mlp",
        (16,),
        (Linear(16, 5, bias=False), Activation(), Linear(5, 4, bias=False)),
    )


def _cnn_s(name: str, channels: int) -> Architecture:
    return Architecture(
        name,
        (channels, 28, 28),
        (
            Conv2d(channels, 8, 5),
            MaxPool2d(2),
            Activation(),
            Conv2d(8, 6, 5),
            MaxPool2d(2),
            Activation(),
            Conv2d(6, 4, 2),
            Activation(dropout=False),
            Flatten(),
            Linear(36, 20),
            Activation(),
            Linear(20, 10),
        ),
    )


@register_architecture("mnist-cnn")
def mnist_cnn() -> Architecture:
    """Appendix Table 4 with its two slips corrected: 2,464 parameters.

    No pooling after the third convolution (the flatten has 4 x 3 x 3 = 36 inputs) and
    the last linear layer has a bias. Dropout follows conv1, conv2 and fc1, not conv3,
    as in the authors' `def_net.py`. The Model Zoos data set's CNN-s on grey-scale data.
    """
    return _cnn_s("mnist-cnn", 1)


@register_architecture("cnn-s-rgb")
def cnn_s_rgb() -> Architecture:
    """The Model Zoos data set's CNN-s on colour images resized to 28 x 28 (CIFAR10,
    STL10): `mnist-cnn` with 3 input channels, 2,864 parameters."""
    return _cnn_s("cnn-s-rgb", 3)


@register_architecture("cnn-l")
def cnn_l() -> Architecture:
    """The Model Zoos data set's CNN-l (the authors' `CNN3` in `def_net.py`) on 3 x 32 x 32
    images: three 3x3 convolutions (16, 32, 15 channels), each followed by 2x2 max-pooling,
    the activation and dropout, then linear 60 -> 20 -> 10; 10,853 parameters."""
    return Architecture(
        "cnn-l",
        (3, 32, 32),
        (
            Conv2d(3, 16, 3),
            MaxPool2d(2),
            Activation(),
            Conv2d(16, 32, 3),
            MaxPool2d(2),
            Activation(),
            Conv2d(32, 15, 3),
            MaxPool2d(2),
            Activation(),
            Flatten(),
            Linear(60, 20),
            Activation(),
            Linear(20, 10),
        ),
    )


@register_architecture("mnist-resnet")
def mnist_resnet() -> Architecture:
    """A small residual CNN with BatchNorm (not in the paper): a strided stem convolution,
    one residual block of two 3x3 convolutions, a strided convolution, global average
    pooling and a linear classifier; 2,626 parameters. Convolutions before a BatchNorm
    have no bias (the normalisation removes it, so its gradient would be rounding noise)."""
    return Architecture(
        "mnist-resnet",
        (1, 28, 28),
        (
            Conv2d(1, 8, 3, bias=False, stride=2, padding=1),
            BatchNorm2d(8),
            Activation(dropout=False),
            ResidualStart(),
            Conv2d(8, 8, 3, bias=False, padding=1),
            BatchNorm2d(8),
            Activation(dropout=False),
            Conv2d(8, 8, 3, bias=False, padding=1),
            BatchNorm2d(8),
            ResidualAdd(),
            Activation(),
            Conv2d(8, 16, 3, bias=False, stride=2, padding=1),
            BatchNorm2d(16),
            Activation(dropout=False),
            GlobalAvgPool(),
            Linear(16, 10),
        ),
    )


def resnet_architecture(
    name: str,
    input_shape: tuple[int, int, int],
    classes: int,
    *,
    widths: tuple[int, ...] = (64, 128, 256, 512),
    blocks: tuple[int, ...] = (2, 2, 2, 2),
) -> Architecture:
    """A ResNet of basic blocks as torchvision builds ResNet-18, with the CIFAR stem the
    Model Zoos data set uses (a 3x3 stride-1 convolution, no max-pooling): each stage's
    first block strides by 2 (not the first stage's) and, where the shape changes, adds a
    1x1 projection shortcut with BatchNorm. Parameters come in torchvision's state_dict
    order (conv1, bn1, layer1.0.conv1, ..., layer2.0.downsample.0/1, ..., fc). BatchNorm
    normalises with batch statistics (no running statistics: they are not weights)."""
    layers: list = [
        Conv2d(input_shape[0], widths[0], 3, bias=False, padding=1),
        BatchNorm2d(widths[0]),
        Activation(dropout=False),
    ]
    channels = widths[0]
    for stage, (width, count) in enumerate(zip(widths, blocks, strict=True)):
        for block in range(count):
            stride = 2 if stage > 0 and block == 0 else 1
            layers += [
                ResidualStart(),
                Conv2d(channels, width, 3, bias=False, stride=stride, padding=1),
                BatchNorm2d(width),
                Activation(dropout=False),
                Conv2d(width, width, 3, bias=False, padding=1),
                BatchNorm2d(width),
            ]
            if stride != 1 or channels != width:
                layers += [
                    ShortcutConv2d(channels, width, 1, bias=False, stride=stride),
                    ShortcutBatchNorm2d(width),
                ]
            layers += [ResidualAdd(), Activation(dropout=False)]
            channels = width
    layers += [GlobalAvgPool(), Linear(channels, classes)]
    return Architecture(name, input_shape, tuple(layers))


@register_architecture("resnet18-cifar10")
def resnet18_cifar10() -> Architecture:
    """The Model Zoos data set's ResNet-18 on CIFAR10 (3 x 32 x 32, 10 classes):
    11,173,962 parameters."""
    return resnet_architecture("resnet18-cifar10", (3, 32, 32), 10)


@register_architecture("resnet18-cifar100")
def resnet18_cifar100() -> Architecture:
    """The Model Zoos data set's ResNet-18 on CIFAR100 (100 classes)."""
    return resnet_architecture("resnet18-cifar100", (3, 32, 32), 100)


@register_architecture("resnet18-tinyimagenet")
def resnet18_tinyimagenet() -> Architecture:
    """The Model Zoos data set's ResNet-18 on Tiny-ImageNet (3 x 64 x 64, 200 classes)."""
    return resnet_architecture("resnet18-tinyimagenet", (3, 64, 64), 200)


def create_architecture(name: str) -> Architecture:
    """The registered architecture called `name`."""
    return ARCHITECTURES.create(name)


def list_architectures() -> list[str]:
    """Names of the registered architectures."""
    return ARCHITECTURES.names()
