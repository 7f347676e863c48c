"""CREPE pitch metrics (tiny model) on synthetic harmonic glides."""

import numpy as np
import pytest

from espnet2_spiking.metrics.pitch import CrepePitch, CrepeSettings, pitch_metrics, pitch_stats
from espnet2_spiking.metrics.signals import harmonic_glide

FS = 16000
SEMITONE = 2 ** (1 / 12)


@pytest.fixture(scope="module")
def crepe(tmp_path_factory):
    return CrepePitch(CrepeSettings(model="tiny"), cache_dir=str(tmp_path_factory.mktemp("crepe")))


@pytest.fixture(scope="module")
def tone():
    return harmonic_glide(FS, 2.0, f0_start=120, f0_end=240, silence=0.25)


@pytest.fixture(scope="module")
def tone_track(crepe, tone):
    return crepe(tone)


def test_track_follows_the_glide_and_silence_is_unvoiced(tone_track):
    pitch, periodicity = tone_track
    t = np.arange(len(pitch)) * 0.01
    inside = (t > 0.3) & (t < 1.7)
    true_f0 = 120 + 120 * (t - 0.25) / 1.5
    cents = 1200 * np.log2(pitch[inside] / true_f0[inside])
    assert len(pitch) == len(periodicity) == 2 * FS // 160 + 1
    assert np.median(np.abs(cents)) < 30
    assert (periodicity[inside] >= 0.21).all()
    assert (periodicity[(t < 0.2) | (t > 1.8)] == 0).all()  # below -60 dB


def test_identical_signals_score_perfectly(tone_track):
    m = pitch_metrics(pitch_stats(tone_track, tone_track))
    assert m == dict(periodicity_rmse=0.0, vuv_f1=1.0, pitch_rmse_cents=0.0)


def test_shifted_noisy_and_delayed_copies_score_worse(crepe, tone, tone_track):
    shifted = crepe(harmonic_glide(FS, 2.0, f0_start=120 * SEMITONE, f0_end=240 * SEMITONE, silence=0.25))
    m = pitch_metrics(pitch_stats(tone_track, shifted))
    assert m["pitch_rmse_cents"] == pytest.approx(100, abs=25)  # one semitone
    rng = np.random.default_rng(0)
    noisy = crepe(tone + 0.02 * rng.standard_normal(len(tone)).astype(np.float32))
    delayed = crepe(np.concatenate([np.zeros(800, np.float32), tone[:-800]]))  # 50 ms
    for other in (noisy, delayed):
        m = pitch_metrics(pitch_stats(tone_track, other))
        assert m["periodicity_rmse"] > 0.01
        assert m["pitch_rmse_cents"] > 1
    assert pitch_metrics(pitch_stats(tone_track, delayed))["vuv_f1"] < 1


def test_cache_is_keyed_by_samples_and_settings(crepe, tone, tone_track, monkeypatch):
    hits = crepe.hits
    monkeypatch.setattr(crepe, "track", lambda audio: pytest.fail("CREPE ran although the track is cached"))
    pitch, periodicity = crepe(tone.copy())
    assert crepe.hits == hits + 1
    np.testing.assert_array_equal(pitch, tone_track[0])
    np.testing.assert_array_equal(periodicity, tone_track[1])
    other = CrepePitch(CrepeSettings(model="tiny", fmax=400.0), cache_dir=str(crepe.cache_dir))
    assert other.cache_path(tone) != crepe.cache_path(tone)
    assert crepe.cache_path(tone * 0.5) != crepe.cache_path(tone)


def test_pooled_statistics_by_hand():
    """Two voiced agreeing frames, one false positive, one false negative, one unvoiced."""
    ref = (np.array([100.0, 200.0, 100.0, 100.0, 100.0]), np.array([0.9, 0.8, 0.1, 0.5, 0.0]))
    gen = (np.array([200.0, 200.0, 100.0, 100.0, 100.0]), np.array([0.9, 0.6, 0.4, 0.1, 0.0]))
    stats = pitch_stats(ref, gen)
    assert stats == dict(
        frames=5,
        periodicity_sq=pytest.approx(0.04 + 0.09 + 0.16),
        tp=2,
        fp=1,
        fn=1,
        voiced_both=2,
        cents_sq=pytest.approx(1200.0**2),
    )
    m = pitch_metrics(stats)
    assert m["periodicity_rmse"] == pytest.approx(np.sqrt(0.29 / 5))
    assert m["vuv_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m["pitch_rmse_cents"] == pytest.approx(1200 / np.sqrt(2))
    pooled = pitch_metrics({k: stats[k] * 2 for k in stats})  # two such utterances
    assert pooled == pytest.approx(m)


def test_unvoiced_everywhere_gives_nan_not_a_score():
    silent = (np.full(4, 100.0), np.zeros(4))
    m = pitch_metrics(pitch_stats(silent, silent))
    assert m["periodicity_rmse"] == 0.0
    assert np.isnan(m["vuv_f1"]) and np.isnan(m["pitch_rmse_cents"])


def test_refuses_tracks_of_different_length():
    with pytest.raises(ValueError, match="differ in length: 3 and 4 frames"):
        pitch_stats((np.ones(3), np.ones(3)), (np.ones(4), np.ones(4)))


def test_refuses_unknown_model():
    with pytest.raises(ValueError, match="'full' or 'tiny'"):
        CrepeSettings(model="large")
