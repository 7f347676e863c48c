import pytest
import torch

from espnet2_spiking.gan_vocoder.temporal_shift import TemporalShift, channel_groups, temporal_shift
from tests.helpers import shift_channel_by_channel


@pytest.mark.parametrize(
    "channels, factor, first, second",
    [
        (8, 32, 2, 4),  # factor 32 on any channel count: a quarter and a quarter
        (64, 32, 16, 32),  # the reference's groups: 8 of 2 channels, then 8 of 2
        (24, 8, 6, 12),  # factor 8: groups of 3 channels, 2 move one way, 2 the other
        (12, 6, 2, 6),  # factor 6: 1 group of 2 channels, then 2 groups: not quarters
        (10, 32, 2, 5),  # 10 channels in 32 groups: the same fractions, rounded down
        (7, 4, 1, 3),  # factor 4 on 7 channels: 7 // 4, then 14 // 4
    ],
)
@pytest.mark.parametrize("direction", ["reference", "mirrored"])
def test_moves_each_channel_as_the_reference(channels, factor, first, second, direction):
    assert channel_groups(channels, factor) == (first, second)
    T, B, L = 4, 2, 3
    u = torch.arange(T * B * channels * L, dtype=torch.float).view(T, B, channels, L) + 1
    out = temporal_shift(u, factor, direction)
    assert torch.equal(out, shift_channel_by_channel(u, first, second, direction))


def test_reference_direction_first_group_reads_the_next_step():
    u = torch.zeros(3, 1, 8, 1)
    u[1, 0, 0, 0] = 1.0  # channel 0: first quarter
    u[1, 0, 2, 0] = 2.0  # channel 2: second quarter
    out = temporal_shift(u, 32, "reference")
    assert out[0, 0, 0, 0] == 1.0 and out[2, 0, 2, 0] == 2.0
    assert out.nonzero().tolist() == [[0, 0, 0, 0], [2, 0, 2, 0]]


def test_never_mixes_frames_or_batch():
    T, B, C, L = 3, 2, 4, 6
    u = torch.zeros(T, B, C, L)
    u[1, 1, 0, 3] = 1.0  # one value in the first group
    out = temporal_shift(u)
    assert out.nonzero().tolist() == [[0, 1, 0, 3]]


def test_single_time_step_is_left_as_it_is():
    """The reference's rule: with T = 1 there is nothing to shift, so x = (1 + alpha) u."""
    u = torch.randn(1, 2, 8, 3)
    assert temporal_shift(u) is u
    assert torch.allclose(TemporalShift(alpha_init=0.5)(u), 1.5 * u)


def test_module_adds_scaled_shift():
    tsm = TemporalShift(alpha_init=0.5, folding_factor=8, direction="mirrored")
    u = torch.randn(4, 1, 8, 3)
    assert torch.allclose(tsm(u), u + 0.5 * temporal_shift(u, 8, "mirrored"))
    tsm(u).sum().backward()
    assert tsm.alpha.grad is not None and tsm.alpha.grad != 0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="tsm_direction must be one of reference, mirrored"):
        TemporalShift(direction="backward")
    with pytest.raises(ValueError, match="tsm_channel_folding_factor"):
        TemporalShift(folding_factor=0)
