"""Signal-level quality measures on synthetic harmonic tones."""

import math

import numpy as np
import pytest
import torch

from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.metrics import quality
from espnet2_spiking.metrics.signals import harmonic_glide

FS = 16000


@pytest.fixture(scope="module")
def tone():
    return harmonic_glide(FS, 2.0)


def noisy(x, std, seed=0):
    return x + std * np.random.default_rng(seed).standard_normal(len(x)).astype(np.float32)


def delayed(x, samples):
    return np.concatenate([np.zeros(samples, np.float32), x[:-samples]])


def scores(ref, gen):
    return dict(
        pesq=quality.pesq_wb(ref, gen, FS),
        stoi=quality.stoi(ref, gen, FS),
        mel_l1=quality.mel_l1(ref, gen, VocosLogMel(fs=FS)),
        mcd=quality.mcd(ref, gen, FS),
    )


def test_identical_signals_score_perfectly(tone):
    s = scores(tone, tone.copy())
    assert s["pesq"] == pytest.approx(4.644, abs=0.01)  # the maximum of wideband PESQ
    assert s["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert s["mel_l1"] == 0.0
    assert s["mcd"] == 0.0


def test_more_noise_scores_worse(tone):
    clean, slight, strong = (
        scores(tone, tone),
        scores(tone, noisy(tone, 0.003)),
        scores(tone, noisy(tone, 0.03)),
    )
    for better, worse in [(clean, slight), (slight, strong)]:
        assert worse["pesq"] < better["pesq"]
        assert worse["stoi"] < better["stoi"]
        assert worse["mel_l1"] > better["mel_l1"]
        assert worse["mcd"] > better["mcd"]


def test_delayed_copy_scores_worse(tone):
    s = scores(tone, delayed(tone, 160))  # 10 ms
    assert s["stoi"] < 0.99
    assert s["mel_l1"] > 0.1
    assert s["mcd"] > 0.5


def test_pesq_resamples_other_rates():
    x = harmonic_glide(24000, 1.5)
    assert quality.pesq_wb(x, x, 24000) == pytest.approx(4.644, abs=0.01)
    assert len(quality.resample(x, 24000, 16000)) == 24000


def test_align_trims_small_differences_and_refuses_large_ones(tone):
    ref, gen = quality.align(tone, np.concatenate([tone, np.zeros(100, np.float32)]), max_diff=256)
    assert len(ref) == len(gen) == len(tone)
    ref, gen = quality.align(tone, tone[:-200], max_diff=256)
    assert len(ref) == len(gen) == len(tone) - 200
    with pytest.raises(ValueError, match=r"a\.wav vs b\.wav: lengths differ by 300 samples"):
        quality.align(tone, tone[:-300], max_diff=256, what="a.wav vs b.wav")


@pytest.mark.parametrize(
    "fs, alpha", [(8000, 0.312), (16000, 0.41), (22050, 0.455), (24000, 0.466), (48000, 0.554)]
)
def test_all_pass_alpha_matches_sptk(fs, alpha):
    """SPTK's mcepalpha gives these constants."""
    assert quality.all_pass_alpha(fs) == pytest.approx(alpha, abs=1e-6)


def test_mel_cepstrum_matrix_recovers_a_known_mel_cepstrum():
    """A log spectrum built from known mel-cepstral coefficients gives them back."""
    n_bins, order, alpha = 513, 34, 0.466
    omega = torch.linspace(0, math.pi, n_bins, dtype=torch.float64)
    theta = omega + 2 * torch.atan2(alpha * torch.sin(omega), 1 - alpha * torch.cos(omega))  # warped axis
    coefs = torch.randn(order + 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    coefs /= 1 + torch.arange(order + 1)
    log_amp = (coefs[:, None] * torch.cos(torch.arange(order + 1)[:, None] * theta)).sum(0)
    matrix = quality._mel_cepstrum_matrix(n_bins, order, alpha).double()
    assert torch.allclose(matrix @ log_amp, coefs, atol=3e-3)


def test_mel_cepstrum_shape():
    mc = quality.mel_cepstrum(torch.randn(2, 4000), FS)
    assert mc.shape == (2, 4000 // 256 + 1, 24)


def test_utmos_runs_a_local_torchscript_model(tmp_path, tone):
    class MeanAbs(torch.nn.Module):
        def forward(self, wav: torch.Tensor) -> torch.Tensor:
            return wav.abs().mean().reshape(1)

    path = tmp_path / "utmos.pt"
    torch.jit.script(MeanAbs()).save(str(path))
    x = harmonic_glide(24000, 1.0)
    expected = np.abs(quality.resample(x, 24000, 16000)).mean()
    assert quality.Utmos(str(path))(x, 24000) == pytest.approx(expected, rel=1e-5)
