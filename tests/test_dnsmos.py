"""DNSMOS, the reference-free score of text-to-wav output (metrics/dnsmos.py, bin/dnsmos.py)."""

import json

import numpy as np
import pytest
import soundfile

from espnet2_spiking.bin import dnsmos
from espnet2_spiking.metrics.dnsmos import SCORES
from tests.conftest import harmonic_tone
from tests.helpers import read_table

FS = 24000


def test_scores_every_utterance_and_noise_lowers_the_background_score(tmp_path):
    clean = harmonic_tone(FS, 2.0)
    noisy = np.clip(clean + 0.3 * np.random.default_rng(0).standard_normal(clean.size), -1, 1)
    lines = []
    for utt, wav in (("clean", clean), ("noisy", noisy)):
        soundfile.write(tmp_path / f"{utt}.wav", wav, FS)
        lines.append(f"{utt} {tmp_path / utt}.wav\n")
    (tmp_path / "wav.scp").write_text("".join(lines))
    dnsmos.main(["--wav_scp", str(tmp_path / "wav.scp"), "--out_dir", str(tmp_path / "dnsmos")])

    rows = [line.split("\t") for line in (tmp_path / "dnsmos" / "utt_dnsmos.tsv").read_text().splitlines()]
    assert rows[0] == ["utt_id", *SCORES] and [r[0] for r in rows[1:]] == ["clean", "noisy"]
    scores = {r[0]: dict(zip(SCORES, map(float, r[1:]))) for r in rows[1:]}
    assert all(1.0 <= v <= 5.0 for s in scores.values() for v in s.values())
    assert scores["noisy"]["bak_mos"] < scores["clean"]["bak_mos"] - 1.0  # 1.60 vs 3.65 when written
    summary = json.loads((tmp_path / "dnsmos" / "dnsmos.json").read_text())
    assert summary["num_utts"] == 2 and summary["model"] == "dnsmos"
    for key in SCORES:
        assert summary[key] == pytest.approx(np.mean([s[key] for s in scores.values()]), abs=1e-4)


def test_unreadable_utterance_is_named(tmp_path):
    (tmp_path / "wav.scp").write_text(f"utt1 {tmp_path}/missing.wav\n")
    with pytest.raises(SystemExit, match=r"wav.scp: utterance utt1: .*missing.wav does not exist"):
        dnsmos.main(["--wav_scp", str(tmp_path / "wav.scp"), "--out_dir", str(tmp_path / "out")])
    assert not (tmp_path / "out" / "dnsmos.json").exists()
