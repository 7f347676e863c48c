import math

import pytest
import torch

from espnet2_spiking.gan_vocoder.losses import anti_wrapping, log_mel_l1_loss, masked_mean, phase_losses
from espnet2_spiking.layers.mel import VocosLogMel
from tests.conftest import TINY_MEL


def test_masked_mean_ignores_padded_frames():
    x = torch.ones(2, 3, 5)
    x[0, :, 2:] = 1e6  # padding of the first item
    x[1] = 3.0
    lengths = torch.tensor([2, 5])
    # valid: 3 * 2 ones and 3 * 5 threes
    assert masked_mean(x, lengths).item() == pytest.approx((6 * 1 + 15 * 3) / 21)
    assert masked_mean(x[1:]).item() == 3.0
    assert masked_mean(torch.ones(2, 4, 0), torch.tensor([0, 0])).item() == 0.0


def test_log_mel_l1_loss():
    feats = VocosLogMel(**TINY_MEL)
    speech = torch.randn(2, 800)
    mel = feats.mel(speech)
    assert log_mel_l1_loss(feats, speech, mel).item() == 0.0
    assert log_mel_l1_loss(feats, 0.5 * speech, mel).item() == pytest.approx(math.log(2), rel=1e-4)
    # only the valid frames count: the second item differs from frame 20 on
    other = speech.clone()
    other[1, 20 * 16 :] = 0.0
    lengths = torch.tensor([51, 15])
    assert log_mel_l1_loss(feats, other, mel, lengths).item() == pytest.approx(0.0, abs=1e-6)
    assert log_mel_l1_loss(feats, other, mel).item() > 0.1


def test_anti_wrapping():
    x = torch.tensor([0.0, 2 * math.pi, -4 * math.pi, math.pi + 0.1, -0.3, 0.3 + 6 * math.pi])
    expected = torch.tensor([0.0, 0.0, 0.0, math.pi - 0.1, 0.3, 0.3])
    assert torch.allclose(anti_wrapping(x), expected, atol=1e-5)


def test_phase_losses_of_identical_phases_are_zero():
    phase = math.pi * (2 * torch.rand(2, 33, 20) - 1)
    assert all(loss.item() == 0.0 for loss in phase_losses(phase, phase))


def test_phase_losses_ignore_whole_turns():
    """A phase shifted by any multiple of 2 pi is the same phase: all three losses are 0."""
    phase = math.pi * (2 * torch.rand(2, 33, 20) - 1)
    turns = torch.randint(-3, 4, phase.shape) * 2 * math.pi
    for loss in phase_losses(phase + turns, phase):
        assert loss.item() == pytest.approx(0.0, abs=1e-5)


def test_phase_losses_measure_each_difference():
    phase = math.pi * (2 * torch.rand(1, 9, 6) - 1)
    # a constant offset: only the instantaneous phase differs
    ip, gd, ptd = phase_losses(phase + 0.3, phase)
    assert (ip.item(), gd.item(), ptd.item()) == pytest.approx((0.3, 0.0, 0.0), abs=1e-5)
    # an offset growing by 0.2 per frame: time differences off by 0.2, group delay still right
    ramp = 0.2 * torch.arange(6.0)
    ip, gd, ptd = phase_losses(phase + ramp, phase)
    assert (ip.item(), gd.item(), ptd.item()) == pytest.approx((ramp.mean().item(), 0.0, 0.2), abs=1e-5)
    # an offset growing by 0.1 per frequency bin: group delay off by 0.1
    ip, gd, ptd = phase_losses(phase + 0.1 * torch.arange(9.0)[:, None], phase)
    assert (gd.item(), ptd.item()) == pytest.approx((0.1, 0.0), abs=1e-5)


def test_phase_losses_ignore_padded_frames():
    phase = torch.zeros(2, 5, 8)
    phase_hat = phase.clone()
    phase_hat[0, :, 3:] = 1.0  # differs only in the padding of the first item
    lengths = torch.tensor([3, 8])
    assert [loss.item() for loss in phase_losses(phase_hat, phase, lengths)] == [0.0, 0.0, 0.0]
    assert phase_losses(phase_hat, phase)[0].item() > 0
