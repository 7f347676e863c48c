"""Real-time factor."""

import time

import pytest
import torch

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.metrics.speed import peak_memory_mb, real_time_factor, real_time_factors, training_steps
from tests.conftest import make_spiking_vocos_args, make_vocos_args


class Sleeper(torch.nn.Module):
    """A 'vocoder' that takes a known time per call and counts its calls."""

    upsample_factor = 100

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.calls = 0

    def forward(self, mel):
        self.calls += 1
        time.sleep(self.seconds)
        return mel


def test_rtf_is_time_over_audio_duration():
    sleeper = Sleeper(0.05)
    mel = torch.zeros(2, 4, 80)  # 2 x 80 frames x 100 samples at 8 kHz = 2 s of audio
    r = real_time_factor(sleeper, mel, fs=8000, warmup=2, repeats=3)
    assert sleeper.calls == 6  # and one more for the peak memory
    assert r["audio_s"] == pytest.approx(2.0)
    assert r["batch_size"] == 2 and r["warmup"] == 2 and r["repeats"] == 3
    assert 0.05 <= r["min_s"] <= r["median_s"] <= r["max_s"]
    assert r["median_s"] < 0.5
    assert r["rtf"] == pytest.approx(r["median_s"] / 2.0)
    assert r["speed_x"] == pytest.approx(1 / r["rtf"])
    assert r["threads"] == torch.get_num_threads() and r["device"] == "cpu"
    assert r["runtime"] == "pytorch" and r["peak_memory_mb"] < 0.01  # it allocates nothing


def test_side_by_side_timing_calls_the_systems_in_turn():
    order = []

    class Recorder(Sleeper):
        def forward(self, mel):
            order.append(self.name)
            return super().forward(mel)

    fast, slow = Recorder(0.01), Recorder(0.04)
    fast.name, slow.name = "fast", "slow"
    mels = {"fast": torch.zeros(1, 4, 80), "slow": torch.zeros(2, 4, 80)}
    runs = real_time_factors({"fast": fast, "slow": slow}, mels, fs=8000, warmup=1, repeats=3)
    assert order[:8] == ["fast", "slow"] * 4  # warm-up and timed calls alternate
    assert fast.calls == slow.calls == 5  # and one more each for the peak memory
    assert runs["fast"]["audio_s"] == pytest.approx(1.0) and runs["slow"]["audio_s"] == pytest.approx(2.0)
    assert runs["fast"]["median_s"] < runs["slow"]["median_s"] and runs["slow"]["batch_size"] == 2


def test_rtf_of_a_vocoder():
    student = SpikingVocosGenerator(**make_spiking_vocos_args()).eval()
    r = real_time_factor(student, torch.randn(1, 16, 50), fs=8000, warmup=1, repeats=2)
    assert r["audio_s"] == pytest.approx(50 * 16 / 8000)
    assert r["rtf"] > 0


def test_refuses_no_repeats():
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        real_time_factor(Sleeper(0), torch.zeros(1, 4, 8), fs=8000, repeats=0)


def test_peak_memory_counts_what_lives_at_once():
    def freeing():
        a = torch.ones(1_000_000)  # 4 MB
        b = a + 1  # 8 MB live
        del a
        return b * 2  # 8 MB live again, never 12

    def keeping():
        a = torch.ones(1_000_000)
        b = a + 1
        return a, b, b * 2  # 12 MB live

    cpu = torch.device("cpu")
    # what other code of the process leaves in the profile is the same for both calls
    assert peak_memory_mb(freeing, cpu) >= 8.0 - 0.1
    assert peak_memory_mb(keeping, cpu) - peak_memory_mb(freeing, cpu) == pytest.approx(4.0, abs=0.1)


def test_training_steps_time_each_system_and_restore_its_mode():
    student = SpikingVocosGenerator(**make_spiking_vocos_args()).eval()
    teacher = VocosGenerator(**make_vocos_args()).train()
    mels = {"teacher": torch.randn(3, 16, 10), "student": torch.randn(2, 16, 12)}
    r = training_steps({"teacher": teacher, "student": student}, mels, warmup=0, repeats=2)
    assert not student.training and teacher.training  # each back in its own mode
    assert all(p.grad is None for g in (teacher, student) for p in g.parameters())
    assert (r["teacher"]["batch_size"], r["teacher"]["frames"]) == (3, 10)
    assert (r["student"]["batch_size"], r["student"]["frames"]) == (2, 12)
    for run in r.values():
        assert run["repeats"] == 2 and 0 < run["min_s"] <= run["median_s"] <= run["max_s"]
        assert run["peak_memory_mb"] > 0
