import pytest
import torch

from espnet2_spiking.layers.mel import VocosLogMel
from tests.conftest import TINY_MEL


def test_reference_defaults():
    """Defaults are Vocos "mel 24 kHz" and reported in ESPnet's LogMelFbank names."""
    params = VocosLogMel().get_parameters()
    assert params == dict(
        fs=24000, n_fft=1024, n_shift=256, win_length=1024, window="hann", n_mels=100, fmin=0.0, fmax=12000.0
    )


@pytest.mark.parametrize("num_samples", [16 * 5, 16 * 5 + 7, 1000])
def test_shapes_and_lengths(num_samples):
    mel = VocosLogMel(**TINY_MEL)
    wav = torch.randn(2, num_samples)
    feats, lengths = mel(wav, torch.tensor([num_samples, num_samples - 16]))
    assert feats.shape == (2, num_samples // 16 + 1, 16)
    assert lengths.tolist() == [num_samples // 16 + 1, (num_samples - 16) // 16 + 1]
    assert torch.equal(mel.mel(wav), feats.transpose(1, 2))
    assert mel.output_size() == 16


def test_log_floor():
    feats = VocosLogMel(**TINY_MEL).mel(torch.zeros(1, 160))
    assert torch.allclose(feats, torch.full_like(feats, torch.log(torch.tensor(1e-7)).item()))


def test_matches_upstream_vocos():
    """Same waveform, same features as the public vocos package (reference settings)."""
    vocos_features = pytest.importorskip("vocos.feature_extractors")
    upstream = vocos_features.MelSpectrogramFeatures(
        sample_rate=24000, n_fft=1024, hop_length=256, n_mels=100, padding="center"
    )
    wav = 0.1 * torch.randn(2, 24000)
    assert torch.allclose(VocosLogMel().mel(wav), upstream(wav), atol=1e-5)
