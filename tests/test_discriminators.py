import pytest
import torch

from espnet2_spiking.gan_vocoder.discriminators import MultiPeriodMultiResolutionDiscriminator
from tests.conftest import TINY_DISCRIMINATOR



def test_output_structure():
    disc = MultiPeriodMultiResolutionDiscriminator(**TINY_DISCRIMINATOR)
    mpd, mrd = disc(torch.randn(3, 1, 500))
    assert len(mpd) == 2 and len(mrd) == 3
    for maps in mpd:
        assert len(maps) == 6  # five convolutions, then the score
        assert maps[0].shape[1] == 4  # channels from period_discriminator_params
        assert maps[-1].dim() == 2 and maps[-1].size(0) == 3
    for maps, n_fft in zip(mrd, [128, 64, 32]):
        assert len(maps) == 5 * 5 + 1  # five convolutions per band, then the score
        assert maps[-1].shape[:3] == (3, 1, 500 // (n_fft // 4) + 1)  # frames of hop n_fft / 4
    assert all(torch.isfinite(m).all() for maps in mpd + mrd for m in maps)


def test_mrd_sees_dc_free_peak_normalised_audio():
    disc = MultiPeriodMultiResolutionDiscriminator(**TINY_DISCRIMINATOR).eval()
    x = torch.randn(2, 1, 400)
    with torch.no_grad():
        mpd, mrd = disc(x)
        mpd_scaled, mrd_scaled = disc(3.0 * x + 0.5)
    for maps, maps_scaled in zip(mrd, mrd_scaled):
        assert torch.allclose(maps[-1], maps_scaled[-1], atol=1e-4)
    assert not torch.allclose(mpd[0][-1], mpd_scaled[0][-1])  # the MPD sees the waveform itself


def test_default_is_the_vocos_recipe():
    """Periods (2, 3, 5, 7, 11), FFTs 2048/1024/512 in 5 bands: the shapes of Vocos's discriminators."""
    vocos_discriminators = pytest.importorskip("vocos.discriminators")
    disc = MultiPeriodMultiResolutionDiscriminator()
    assert [d.period for d in disc.mpd.discriminators] == [2, 3, 5, 7, 11]
    assert [(d.window_length, d.hop_length, len(d.bands)) for d in disc.mrd] == [
        (2048, 512, 5),
        (1024, 256, 5),
        (512, 128, 5),
    ]

    def count(module):
        return sum(p.numel() for p in module.parameters())

    assert count(disc.mrd) == count(vocos_discriminators.MultiResolutionDiscriminator())
    # ESPnet's (ParallelWaveGAN's) MPD output convolution has kernel (2, 1) where Vocos's has
    # (3, 1); every other layer has Vocos's shape.
    vocos_mpd = vocos_discriminators.MultiPeriodDiscriminator()
    ours = [count(d) - count(d.output_conv) for d in disc.mpd.discriminators]
    theirs = [count(d) - count(d.conv_post) for d in vocos_mpd.discriminators]
    assert ours == theirs


def test_reference_feature_maps_are_the_layers_vocos_matches():
    """Vocos's feature matching leaves out the first layer of every MPD sub-discriminator and
    of every MRD band: the maps kept have the shapes of Vocos's own MRD feature maps."""
    vocos_discriminators = pytest.importorskip("vocos.discriminators")
    disc = MultiPeriodMultiResolutionDiscriminator()
    x = torch.randn(1, 1, 4096)
    with torch.no_grad():
        full_mpd, full_mrd = disc(x)
        _, _, vocos_maps, _ = vocos_discriminators.MultiResolutionDiscriminator()(x[:, 0], x[:, 0])
    mpd, mrd = disc.reference_feature_maps(full_mpd, full_mrd)
    assert [[m.shape for m in maps] for maps in mrd] == [[m.shape for m in maps] for maps in vocos_maps]
    assert [len(maps) for maps in mpd] == [5] * 5  # four convolutions and the score, as Vocos's MPD
    assert all(kept[-1] is maps[-1] for kept, maps in zip(mpd + mrd, full_mpd + full_mrd))  # scores kept
