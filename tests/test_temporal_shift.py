import torch

from espnet2_spiking.gan_vocoder.temporal_shift import TemporalShift, temporal_shift


def test_moves_channel_groups_along_time_steps():
    T, B, C, L = 4, 2, 8, 5
    u = torch.arange(T * B * C * L, dtype=torch.float).view(T, B, C, L) + 1
    out = temporal_shift(u)
    q = C // 4
    # first quarter: step t receives step t-1, zero at t=0
    assert torch.equal(out[1:, :, :q], u[:-1, :, :q])
    assert torch.equal(out[0, :, :q], torch.zeros(B, q, L))
    # second quarter: step t receives step t+1, zero at the last step
    assert torch.equal(out[:-1, :, q : 2 * q], u[1:, :, q : 2 * q])
    assert torch.equal(out[-1, :, q : 2 * q], torch.zeros(B, q, L))
    # second half unchanged
    assert torch.equal(out[:, :, 2 * q :], u[:, :, 2 * q :])


def test_never_mixes_frames_or_batch():
    T, B, C, L = 3, 2, 4, 6
    u = torch.zeros(T, B, C, L)
    u[1, 1, 0, 3] = 1.0  # one value in the forward-shifted group
    out = temporal_shift(u)
    assert out.nonzero().tolist() == [[2, 1, 0, 3]]


def test_module_adds_scaled_shift():
    tsm = TemporalShift(alpha_init=0.5)
    u = torch.randn(4, 1, 8, 3)
    assert torch.allclose(tsm(u), u + 0.5 * temporal_shift(u))
    tsm(u).sum().backward()
    assert tsm.alpha.grad is not None and tsm.alpha.grad != 0
