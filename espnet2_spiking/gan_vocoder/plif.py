"""Fused multi-step ParametricLIF neuron of the student.

The same neuron as spikingjelly 2.0.0's ``ParametricLIFNode`` in the one setting the
student uses (``decay_input=True``, hard reset to ``v_reset=0``, ``detach_reset=False``,
surrogate ``Sigmoid(alpha)``, multi-step mode, learnable ``w`` with ``1/tau = sigmoid(w)``):

    h[t] = v[t-1] + (x[t] - v[t-1]) / tau,   s[t] = (h[t] >= v_threshold),   v[t] = h[t] (1 - s[t]),

from rest (``v[-1] = 0``). Only the recurrence over the SNN time steps T is a loop; every
operation in it works on all (batch, frame, channel) neurons of a step at once, and the
surrogate gradient, the reset gradient and the gradient of ``w`` are computed for all T
steps together. Membrane potentials are computed in the same order of operations as
spikingjelly's, so the spikes are bit-identical to its node's and the gradients agree
within float rounding (tests/test_plif.py).

Which path runs where:

- CPU, gradients needed (training): :class:`FusedPLIFFunction`, this module's forward and
  custom backward. spikingjelly 2.0.0 has no compiled CPU kernel: its CPU path is a Python
  loop over T of about ten tensor operations per step plus stacking, in forward and in
  backward, and costs about as much as the student's matrix products.
- CPU, no gradients (decoding, energy counting): :func:`plif_inference`, the same forward
  without autograd state (no charged potentials kept for a backward pass).
- CUDA: spikingjelly's own fused kernels (native CUDA or Triton, chosen by spikingjelly),
  which run the whole recurrence in one kernel launch; not measured here, as no GPU was
  available when this was written.

The node stays a ``ParametricLIFNode`` (so a ``BaseNode``): ``monitor.OutputMonitor``,
``functional.reset_net``, the energy counter and the firing-rate statistics find it, and
its parameter keeps the name ``w`` (checkpoint keys ``...lif1.w`` unchanged).
"""

from typing import List, Optional, Tuple

import torch
from spikingjelly.activation_based import neuron, surrogate


def _charge(
    x_seq: torch.Tensor,
    q: torch.Tensor,
    v_threshold: float,
    v_init: Optional[torch.Tensor],
    keep_charged: bool,
) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """Run the recurrence: per step charge, compare and reset, each one pass over the neurons.

    Spikes (and, with ``keep_charged``, the charged potentials) are written straight into
    their output tensors; the reset ``h - h s`` is ``h (1 - s)`` exactly for s in {0, 1}.
    Under tracing (ONNX export, ``torch.compile``) the steps are stacked instead, as the
    exporter cannot follow writes into slices of a tensor with dynamic shape.

    Args:
        x_seq: Input currents (T, *); may be a broadcast view (stride 0 along T).
        q: ``1 / tau = sigmoid(w)``, a float32 0-dim tensor.
        v_threshold: Firing threshold.
        v_init: Potential before the first step (*), or None for rest (0).
        keep_charged: Also return the charged (pre-reset) potentials, for a backward pass.

    Returns:
        Spikes (T, *) of ``x_seq``'s dtype, exactly 0 or 1; the potential after the last step
        (*), float32; the charged potentials h (T, *), float32, or None.
    """
    tracing = torch.compiler.is_compiling()

    def steps(dtype):
        return [] if tracing else torch.empty_like(x_seq, dtype=dtype, memory_format=torch.contiguous_format)

    spikes, charged = steps(x_seq.dtype), steps(torch.float32) if keep_charged else None
    v = v_init
    for t, x in enumerate(x_seq.float()):
        h_out = charged[t] if keep_charged and not tracing else None  # None: a new tensor
        if v is None:  # v = 0: h = 0 + (x - 0) q = x q exactly
            h = torch.mul(x, q, out=h_out)
        else:  # spikingjelly's order: (x - v) q + v
            h = torch.sub(x, v, out=h_out).mul_(q).add_(v)
        if tracing:
            spikes.append((h >= v_threshold).to(x_seq.dtype))
            if keep_charged:
                charged.append(h)
        else:
            torch.ge(h, v_threshold, out=spikes[t])
        # h is kept for the backward pass, or else a temporary that the reset may overwrite
        v = torch.addcmul(h, h, spikes[t], value=-1) if keep_charged else h.addcmul_(h, spikes[t], value=-1)
    if tracing:
        spikes, charged = torch.stack(spikes), torch.stack(charged) if keep_charged else None
    return spikes, v, charged


def plif_inference(
    x_seq: torch.Tensor, w: torch.Tensor, v_threshold: float, v_init: Optional[torch.Tensor] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Forward pass without autograd state: three passes over the neurons per step, and no
    charged potentials kept.

    Args:
        x_seq: Input currents (T, *).
        w: The node's parameter, ``1 / tau = sigmoid(w)``.
        v_threshold: Firing threshold.
        v_init: Potential before the first step (*), or None for rest.

    Returns:
        Spikes (T, *) of ``x_seq``'s dtype, exactly 0 or 1, and the last potential (*), float32.
    """
    with torch.no_grad():
        spikes, v, _ = _charge(x_seq, w.float().sigmoid(), v_threshold, v_init, keep_charged=False)
        return spikes, v


class FusedPLIFFunction(torch.autograd.Function):
    """Multi-step PLIF with spikingjelly's surrogate gradients, computed in one backward pass.

    Forward: ``(x_seq (T, *), w (), v_threshold, alpha, v_init (*) or None) -> spikes (T, *)``.
    Backward, with ``sg = alpha sigmoid(alpha (h - th)) (1 - sigmoid(alpha (h - th)))``:
    ``dL/dh[t] = dL/ds[t] sg[t] + dL/dh[t+1] (1 - q) ((1 - s[t]) - h[t] sg[t])``,
    ``dL/dx[t] = q dL/dh[t]`` and ``dL/dw = q (1 - q) sum_t dL/dh[t] (x[t] - v[t-1])``.
    ``v_init`` is treated as a constant (no gradient), as after ``reset_net`` it is 0.
    """

    @staticmethod
    def forward(ctx, x_seq, w, v_threshold, alpha, v_init):
        q = w.float().sigmoid()
        spikes, v, h = _charge(x_seq, q, v_threshold, v_init, keep_charged=True)
        ctx.save_for_backward(x_seq, h, q, v_init)
        ctx.v_threshold, ctx.alpha, ctx.w_dtype = v_threshold, alpha, w.dtype
        ctx.mark_non_differentiable(v)
        return spikes, v

    @staticmethod
    def backward(ctx, grad_spikes, _grad_v):
        x_seq, h, q, v_init = ctx.saved_tensors
        th, alpha, decay = ctx.v_threshold, ctx.alpha, 1 - q.item()
        # one pass per line: sigmoid(alpha h - alpha th), then alpha sigmoid (1 - sigmoid)
        sig = torch.addcmul(h.new_tensor(-alpha * th), h, h.new_tensor(alpha)).sigmoid_()
        sg = torch.ops.aten.sigmoid_backward(sig.new_tensor(alpha).expand_as(sig), sig)
        kept = torch.lt(h, th, out=torch.empty_like(h))  # 1 - s
        through_reset = torch.addcmul(kept, h, sg, value=-1)  # d v[t] / d h[t]
        grad_h = sg.mul_(grad_spikes)
        for t in range(h.size(0) - 2, -1, -1):
            grad_h[t].addcmul_(grad_h[t + 1], through_reset[t], value=decay)
        # dL/dq = sum_t dL/dh[t] (x[t] - v[t-1]), with v[t] = h[t] (1 - s[t]) and v[-1] = v_init
        grad_q = torch.dot(grad_h[1:].flatten(), (x_seq[1:] - kept[:-1].mul_(h[:-1])).flatten())
        first = x_seq[0] if v_init is None else x_seq[0] - v_init
        grad_q = grad_q + torch.dot(grad_h[0].flatten(), first.float().flatten())
        grad_w = (grad_q * q * (1 - q)).to(ctx.w_dtype)
        return grad_h.mul_(q).to(x_seq.dtype), grad_w, None, None, None


class FusedParametricLIF(neuron.ParametricLIFNode):
    """spikingjelly's ``ParametricLIFNode`` with a fused multi-step forward and backward on CPU.

    It takes only the settings the fused path implements (the others are fixed as in the
    module docstring). Single-step mode, ``store_v_seq`` and CUDA tensors go to
    spikingjelly's own implementation (see the module docstring).

    Args:
        init_tau: Initial membrane time constant (> 1).
        v_threshold: Firing threshold.
        surrogate_alpha: Slope of the sigmoid surrogate gradient.
    """

    def __init__(self, init_tau: float = 2.0, v_threshold: float = 1.0, surrogate_alpha: float = 4.0):
        super().__init__(
            init_tau=float(init_tau),
            decay_input=True,
            v_threshold=float(v_threshold),
            v_reset=0.0,
            surrogate_function=surrogate.Sigmoid(alpha=float(surrogate_alpha)),
            detach_reset=False,
            step_mode="m",
        )
        self.surrogate_alpha = float(surrogate_alpha)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Args: x_seq: input currents (T, *). Returns: spikes (T, *), exactly 0 or 1.

        Starts from the node's memory ``v`` (rest after ``reset_net``) and leaves the last
        potential there, like spikingjelly's node.
        """
        if x_seq.is_cuda or self.store_v_seq:
            return super().multi_step_forward(x_seq)
        v_init = self.v.detach().float() if isinstance(self.v, torch.Tensor) else None
        if torch.is_grad_enabled() and (x_seq.requires_grad or self.w.requires_grad):
            spikes, v = FusedPLIFFunction.apply(x_seq, self.w, self.v_threshold, self.surrogate_alpha, v_init)
        else:
            spikes, v = plif_inference(x_seq, self.w, self.v_threshold, v_init)
        self.v = v
        return spikes
