"""The C convolution kernels against PyTorch's conv2d + max_pool2d and autograd."""

import math

import pytest
import torch
import torch.nn.functional as F

from hyperrep.population._native import (
    conv_backward,
    conv_forward,
    flush_subnormal_native_,
    native_available,
)

pytestmark = pytest.mark.needs_cc


def _close(actual, expected):
    """Equal up to float32 rounding of sums in another order: measured at most 2.1e-6 of
    the largest reference value (filter gradients), so 1e-5 of it is the bound."""
    scale = float(expected.abs().max()) or 1.0
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5 * scale)


def test_kernels_build_here():
    # CI machines have a C compiler: a missing kernel must fail loudly, not fall back
    assert native_available()


def _reference(x, w, bias, g, pool):
    """Per-model PyTorch forward and gradients in the kernels' layout (M, C, H, W, B)."""
    outs, dxs, dws, dbs = [], [], [], []
    for m in range(x.shape[0]):
        xm = x[m].permute(3, 0, 1, 2).clone().requires_grad_()
        wm, bm = w[m].clone().requires_grad_(), bias[m].clone().requires_grad_()
        out = F.conv2d(xm, wm, bm)
        if pool > 1:
            out = F.max_pool2d(out, pool)
        out.backward(g[m].permute(3, 0, 1, 2))
        outs.append(out.detach().permute(1, 2, 3, 0))
        dxs.append(xm.grad.permute(1, 2, 3, 0))
        dws.append(wm.grad)
        dbs.append(bm.grad)
    return [torch.stack(t) for t in (outs, dxs, dws, dbs)]


@pytest.mark.parametrize(
    "models, channels, size, out_channels, kernel, pool, batch",
    [
        (3, 1, 28, 8, 5, 2, 32),  # the MNIST CNN's first block
        (2, 8, 12, 6, 5, 2, 16),  # its second
        (2, 6, 4, 4, 2, 1, 16),  # its third, no pooling
        (2, 3, 9, 10, 3, 2, 16),  # odd map (7 x 7): pooling drops the last row and column
        (1, 9, 6, 3, 1, 1, 48),  # channel counts that leave partial register blocks
    ],
)
def test_kernels_equal_pytorch(models, channels, size, out_channels, kernel, pool, batch):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(models, channels, size, size, batch, generator=gen)
    w = torch.randn(models, out_channels, channels, kernel, kernel, generator=gen)
    bias = torch.randn(models, out_channels, generator=gen)
    side = (size - kernel + 1) // pool
    g = torch.randn(models, out_channels, side, side, batch, generator=gen)
    out, idx, _ = conv_forward(x, w, bias, pool=pool)
    dx, dw, db = conv_backward(g, idx, x, w, pool, input_grad=True)
    ref_out, ref_dx, ref_dw, ref_db = _reference(x, w, bias, g, pool)
    _close(out, ref_out)
    _close(dx, ref_dx)
    _close(dw, ref_dw)
    _close(db, ref_db)


def test_pooling_ties_follow_pytorch():
    # small integers make exact ties common; the gradient must go where torch sends it
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(-1, 2, (2, 2, 8, 8, 16), generator=gen).float()
    w = torch.randint(-1, 2, (2, 3, 2, 3, 3), generator=gen).float()
    bias = torch.zeros(2, 3)
    g = torch.randn(2, 3, 3, 3, 16, generator=gen)
    out, idx, _ = conv_forward(x, w, bias, pool=2)
    dx, dw, _ = conv_backward(g, idx, x, w, 2, input_grad=True)
    ref_out, ref_dx, ref_dw, _ = _reference(x, w, bias, g, 2)
    assert (idx > 0).any() and (idx == 0).float().mean() > 0.3  # ties were really there
    torch.testing.assert_close(out, ref_out)
    _close(dx, ref_dx)
    _close(dw, ref_dw)


def test_kernels_refuse_bad_operands():
    w, bias = torch.randn(1, 2, 1, 3, 3), torch.zeros(1, 2)
    with pytest.raises(ValueError, match="bad kernel operands"):  # batch not a multiple of 16
        conv_forward(torch.randn(1, 1, 8, 8, 20), w, bias)
    x = torch.randn(1, 1, 8, 8, 16)
    with pytest.raises(ValueError, match="bias must be a contiguous"):  # a strided view
        conv_forward(x, w, torch.zeros(1, 4)[:, ::2])
    with pytest.raises(ValueError, match="bias: shape"):
        conv_forward(x, w, torch.zeros(1, 3))
    out, idx, _ = conv_forward(x, w, bias, pool=2)
    with pytest.raises(ValueError, match="g: shape"):
        conv_backward(torch.zeros(1, 2, 4, 4, 16), idx, x, w, 2, True)
    with pytest.raises(ValueError, match="idx must be"):
        conv_backward(torch.zeros_like(out), None, x, w, 2, True)
    with pytest.raises(ValueError, match="activated must be"):
        conv_backward(torch.zeros_like(out), idx, x, w, 2, True, activation="tanh", activated=None)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("pool", [1, 2])
def test_fused_activation_backward_equals_autograd(activation, pool):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 10, 10, 16, generator=gen)
    w = torch.randn(2, 4, 3, 3, 3, generator=gen)
    bias = torch.randn(2, 4, generator=gen)
    out, idx, _ = conv_forward(x, w, bias, pool=pool)
    activated = getattr(torch, activation)(out)
    g = torch.randn(activated.shape, generator=gen)
    dx, dw, db = conv_backward(g, idx, x, w, pool, True, activation=activation, activated=activated)
    for m in range(2):
        xm = x[m].permute(3, 0, 1, 2).clone().requires_grad_()
        wm, bm = w[m].clone().requires_grad_(), bias[m].clone().requires_grad_()
        z = F.conv2d(xm, wm, bm)
        z = F.max_pool2d(z, pool) if pool > 1 else z
        getattr(torch, activation)(z).backward(g[m].permute(3, 0, 1, 2))
        _close(dx[m], xm.grad.permute(1, 2, 3, 0))
        _close(dw[m], wm.grad)
        _close(db[m], bm.grad)


def _interleave(t: torch.Tensor, group: int) -> torch.Tensor:
    """(M, ..., b) per model -> (M / group, ..., group * b): lane g * b + i is image i of
    model row * group + g."""
    m, *features, b = t.shape
    t = t.reshape(m // group, group, *features, b)
    return t.movedim(1, -2).reshape(m // group, *features, group * b)


@pytest.mark.parametrize(
    "models, channels, size, out_channels, kernel, pool, batch",
    [
        (8, 1, 28, 8, 5, 2, 10),  # the MNIST CNN's first block at the authors' batch 10
        (16, 8, 12, 6, 5, 2, 10),  # its second, two lane groups
        (8, 6, 4, 4, 2, 1, 10),  # its third, no pooling
        (4, 3, 9, 10, 3, 2, 12),  # 4 models x 12 images = 48 lanes; odd map
        (2, 9, 6, 3, 1, 1, 40),  # 2 x 40 = 80 lanes; partial register blocks
    ],
)
def test_interleaved_lanes_equal_pytorch(models, channels, size, out_channels, kernel, pool, batch):
    group = 16 // math.gcd(batch, 16)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(models, channels, size, size, batch, generator=gen)
    # weights at the scale of a network's (1 / sqrt(fan in)): unsaturated tanh, whose
    # derivative 1 - a^2 the kernel computes from the activated output
    w = torch.randn(models, out_channels, channels, kernel, kernel, generator=gen)
    w /= math.sqrt(channels * kernel * kernel)
    bias = torch.randn(models, out_channels, generator=gen)
    side = (size - kernel + 1) // pool
    g = torch.randn(models, out_channels, side, side, batch, generator=gen)
    ref_out, ref_dx, ref_dw, ref_db = _reference(x, w, bias, g, pool)
    xl, gl = _interleave(x, group), _interleave(g, group)
    out, idx, lanes = conv_forward(xl, w, bias, pool=pool, group=group)
    _close(out, _interleave(ref_out, group))
    dx, dw, db = conv_backward(gl, idx, xl, w, pool, True, group=group, lanes=lanes)
    _close(dx, _interleave(ref_dx, group))
    _close(dw, ref_dw)
    _close(db, ref_db)
    activated = torch.tanh(out)
    dx, dw, db = conv_backward(
        gl, idx, xl, w, pool, True, activation="tanh", activated=activated, group=group, lanes=lanes
    )
    for m in range(models):  # the fused activation derivative, per model
        xm = x[m].permute(3, 0, 1, 2).clone().requires_grad_()
        wm, bm = w[m].clone().requires_grad_(), bias[m].clone().requires_grad_()
        z = F.conv2d(xm, wm, bm)
        z = F.max_pool2d(z, pool) if pool > 1 else z
        torch.tanh(z).backward(g[m].permute(3, 0, 1, 2))
        _close(dw[m], wm.grad)
        _close(db[m], bm.grad)
    _close(dx, _interleave(_reference_dx_tanh(x, w, bias, g, pool), group))


def _reference_dx_tanh(x, w, bias, g, pool):
    dxs = []
    for m in range(x.shape[0]):
        xm = x[m].permute(3, 0, 1, 2).clone().requires_grad_()
        z = F.conv2d(xm, w[m], bias[m])
        z = F.max_pool2d(z, pool) if pool > 1 else z
        torch.tanh(z).backward(g[m].permute(3, 0, 1, 2))
        dxs.append(xm.grad.permute(1, 2, 3, 0))
    return torch.stack(dxs)


def test_interleaved_lanes_refuse_bad_groups():
    w, bias = torch.randn(8, 2, 1, 3, 3), torch.zeros(8, 2)
    with pytest.raises(ValueError, match="bad kernel operands"):  # 8 models, 2 rows of 8?
        conv_forward(torch.randn(2, 1, 8, 8, 80), w, bias, pool=1, group=8)
    with pytest.raises(ValueError, match="bad kernel operands"):  # 80 lanes, group 3
        conv_forward(torch.randn(2, 1, 8, 8, 80), w[:6], bias[:6], pool=1, group=3)
    out, idx, lanes = conv_forward(torch.randn(1, 1, 8, 8, 80), w, bias, pool=2, group=8)
    with pytest.raises(ValueError, match="lanes must be"):
        conv_backward(
            torch.zeros_like(out), idx, torch.randn(1, 1, 8, 8, 80), w, 2, True, group=8, lanes=None
        )


def test_shared_input_equals_copies():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 9, 9, 16, generator=gen)
    w = torch.randn(3, 4, 2, 3, 3, generator=gen)
    bias = torch.randn(3, 4, generator=gen)
    copies = x.expand(3, -1, -1, -1, -1).contiguous()
    shared, idx, _ = conv_forward(x, w, bias, pool=1)
    torch.testing.assert_close(shared, conv_forward(copies, w, bias, pool=1)[0])
    g = torch.randn(shared.shape, generator=gen)
    _, dw, db = conv_backward(g, idx, x, w, 1, input_grad=False)
    _, dw_copies, db_copies = conv_backward(g, idx, copies, w, 1, input_grad=False)
    torch.testing.assert_close(dw, dw_copies)
    torch.testing.assert_close(db, db_copies)
    with pytest.raises(ValueError, match="shared"):
        conv_backward(g, idx, x, w, 1, input_grad=True)


def test_missing_compiler_is_reported(monkeypatch, tmp_path):
    from hyperrep.population._native import NativeUnavailable, build_library

    monkeypatch.setenv("HYPERREP_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    with pytest.raises(NativeUnavailable, match="no-such-compiler"):
        build_library()
    assert not list(tmp_path.glob("*.so"))


@pytest.mark.parametrize("n", [1, 15, 16, 37, 4096 + 5])
def test_native_flush_equals_masked_fill(n):
    native_available()  # loaded: the flush uses the kernels only once they are
    tiny = torch.finfo(torch.float32).tiny
    gen = torch.Generator().manual_seed(n)
    t = torch.randn(n, generator=gen) * torch.tensor(10.0).pow(
        torch.randint(-45, 3, (n,), generator=gen).float()
    )
    specials = [tiny, -tiny, tiny / 2, -tiny / 2, 1e-45, -1e-45, -0.0, math.nan, math.inf]
    t[: min(n, len(specials))] = torch.tensor(specials[:n])
    expected = t.clone().masked_fill_(t.abs() < tiny, 0.0)
    assert flush_subnormal_native_(t)
    # bit for bit, NaN included: +0 for every flushed entry, as masked_fill writes
    assert torch.equal(t.view(torch.int32), expected.view(torch.int32))


def test_native_flush_declines_what_it_cannot_read():
    native_available()
    t = torch.full((4, 4), 1e-40)
    assert not flush_subnormal_native_(t.double())
    assert not flush_subnormal_native_(t.T[:, :2])  # not contiguous
    assert torch.all(t == torch.tensor(1e-40))
