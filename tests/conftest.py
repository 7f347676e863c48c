"""Shared tiny configurations and fixtures: the suite must stay fast on a 2-core CPU.

Test modules import shared helpers from here or from ``tests/helpers.py``, never from each other.
"""

import pytest
import torch

TINY_MEL = dict(fs=8000, n_fft=64, hop_length=16, n_mels=16)
# Small enough for a 2-core CPU; FFT sizes that suit an 8 kHz, n_fft 64 vocoder.
TINY_DISCRIMINATOR = dict(
    periods=[2, 3],
    period_discriminator_params=dict(channels=4, max_downsample_channels=8),
    fft_sizes=[128, 64, 32],
    channels=4,
)

# A text-to-mel model for joint_text2wav and TTS tests.
TINY_TACOTRON2 = dict(
    embed_dim=16, elayers=1, eunits=16, econv_layers=1, econv_chans=16, adim=16, aconv_chans=4, aconv_filts=3,
    dlayers=1, dunits=16, prenet_layers=1, prenet_units=16, postnet_layers=1, postnet_chans=16,
)  # fmt: skip


def make_vocos_args(**kwargs):
    args = dict(in_channels=16, dim=32, intermediate_dim=48, num_layers=2, n_fft=64, hop_length=16)
    args.update(kwargs)
    return args


def make_spiking_vocos_args(**kwargs):
    args = make_vocos_args(time_steps=3)
    args.update(kwargs)
    return args


# Modules that run for minutes, marked ``slow``: `pytest -m "not slow" tests` leaves them out.
SLOW_MODULES = ("test_recipe.py",)
# The tests of the recipe's lab probes (pyscripts/lab/), marked ``lab``: `-m "not lab"` leaves them out.
LAB_TESTS = "lab"


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if item.path.parent.name == LAB_TESTS:
            item.add_marker(pytest.mark.lab)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def harmonic_tone(fs: int, seconds: float, f0: float = 150.0, seed: int = 0):
    """A speech-like test signal: a gliding harmonic tone with a little noise, float32 (N,)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(int(fs * seconds)) / fs
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.2 * np.sin(2 * np.pi * 1.5 * t))) / fs
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 6) if k * f0 < fs / 2)
    return (0.3 * harmonics + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def write_wav_scp(directory, fs: int, durations: dict, channels: int = 1):
    """Write one wav per ``{utt_id: seconds}`` into ``directory`` and its ``wav.scp``; return the scp path."""
    import numpy as np
    import soundfile

    from pathlib import Path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (utt, seconds) in enumerate(durations.items()):
        wav = harmonic_tone(fs, seconds, f0=120.0 + 20 * i, seed=i)
        if channels > 1:
            wav = np.stack([wav] * channels, axis=1)
        path = directory / f"{utt}.wav"
        soundfile.write(path, wav, fs)
        lines.append(f"{utt} {path}\n")
    scp = directory / "wav.scp"
    scp.write_text("".join(lines))
    return scp
