"""The evaluate entry point: scp in, metrics.json and utt_metrics.tsv out, bad input named."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_spiking.bin.evaluate import main
from espnet2_spiking.metrics.signals import harmonic_glide
from espnet2_spiking.utils.scp import read_scp

FS = 16000
KEYS = ["pesq_wb", "stoi", "periodicity_rmse", "pitch_rmse_cents", "vuv_f1", "mel_l1", "mcd"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Utterance a: generated = reference + 100 samples; b: generated = noisy reference."""
    root = tmp_path_factory.mktemp("corpus")
    a = harmonic_glide(FS, 1.5, 120, 200)
    b = harmonic_glide(FS, 1.2, 220, 160)
    noise = 0.02 * np.random.default_rng(0).standard_normal(len(b)).astype(np.float32)
    files = dict(a_ref=a, b_ref=b, a_gen=np.concatenate([a, np.zeros(100, np.float32)]), b_gen=b + noise)
    for name, audio in files.items():
        sf.write(root / f"{name}.wav", audio, FS)
    (root / "ref.scp").write_text(f"a {root}/a_ref.wav\nb {root}/b_ref.wav\nc {root}/a_ref.wav\n")
    (root / "gen.scp").write_text(f"a {root}/a_gen.wav\nb {root}/b_gen.wav\n")
    return root


def run(corpus, out_dir, *extra):
    main(
        [
            "--ref_scp",
            str(corpus / "ref.scp"),
            "--gen_scp",
            str(corpus / "gen.scp"),
            "--out_dir",
            str(out_dir),
            "--crepe_model",
            "tiny",
            "--pitch_cache_dir",
            str(corpus / "cache"),
            *extra,
        ]
    )
    return json.loads((out_dir / "metrics.json").read_text())


def read_tsv(path):
    header, *rows = [line.split("\t") for line in path.read_text().splitlines()]
    return {row[0]: dict(zip(header, row)) for row in rows}


def test_writes_metrics_and_table(corpus, tmp_path):
    metrics = run(corpus, tmp_path)
    for key in KEYS:
        assert isinstance(metrics[key], float), key
    assert metrics["num_utts"] == 2  # c has no generated audio
    assert metrics["num_frames"] == (len(harmonic_glide(FS, 1.5)) + len(harmonic_glide(FS, 1.2))) // 160 + 2
    assert metrics["utmos"] is None and "utmos" in metrics["skipped"]
    table = read_tsv(tmp_path / "utt_metrics.tsv")
    assert list(table) == ["a", "b"]
    a, b = ({k: float(v) for k, v in table[u].items() if k != "utt_id"} for u in "ab")
    # a differs from its reference only by 100 trailing samples, which are trimmed: a perfect score
    assert a["pesq_wb"] == pytest.approx(4.644, abs=0.01) and a["stoi"] == pytest.approx(1.0, abs=1e-6)
    assert a["vuv_f1"] == 1 and a["periodicity_rmse"] == a["pitch_rmse_cents"] == a["mel_l1"] == a["mcd"] == 0
    assert a["samples"] == 1.5 * FS
    assert (
        b["pesq_wb"] < 4 and b["stoi"] < 1 and b["mel_l1"] > 0 and b["mcd"] > 0 and b["periodicity_rmse"] > 0
    )
    assert metrics["pesq_wb"] == pytest.approx((a["pesq_wb"] + b["pesq_wb"]) / 2, abs=1e-5)


def test_parallel_jobs_give_the_same_results(corpus, tmp_path):
    serial = run(corpus, tmp_path / "serial")
    parallel = run(corpus, tmp_path / "parallel", "--nj", "2")
    assert {k: parallel[k] for k in KEYS} == pytest.approx({k: serial[k] for k in KEYS})
    assert (tmp_path / "serial/utt_metrics.tsv").read_text() == (
        tmp_path / "parallel/utt_metrics.tsv"
    ).read_text()


def test_utmos_with_a_local_checkpoint(corpus, tmp_path):
    class Loudness(torch.nn.Module):
        def forward(self, wav: torch.Tensor) -> torch.Tensor:
            return 1 + wav.abs().mean().reshape(1)

    torch.jit.script(Loudness()).save(str(tmp_path / "utmos.pt"))
    metrics = run(corpus, tmp_path, "--utmos_model", str(tmp_path / "utmos.pt"))
    assert 1 < metrics["utmos"] < 2 and "skipped" not in metrics
    assert set(read_tsv(tmp_path / "utt_metrics.tsv")["a"]) >= {"utmos"}


def write_pair(root, ref, gen, ref_fs=FS, gen_fs=FS):
    sf.write(root / "r.wav", ref, ref_fs)
    sf.write(root / "g.wav", gen, gen_fs)
    (root / "ref.scp").write_text(f"u {root}/r.wav\n")
    (root / "gen.scp").write_text(f"u {root}/g.wav\n")


def test_refuses_a_sample_rate_mismatch_naming_both(tmp_path):
    x = harmonic_glide(FS, 0.6)
    write_pair(tmp_path, x, x, gen_fs=22050)
    with pytest.raises(ValueError, match=r"r\.wav is 16000 Hz, generated .*g\.wav is 22050 Hz"):
        run(tmp_path, tmp_path / "out")


def test_refuses_lengths_beyond_the_tolerance(tmp_path):
    x = harmonic_glide(FS, 0.6)
    write_pair(tmp_path, x, x[:-500])  # 31 ms > 25 ms
    with pytest.raises(ValueError, match=r"utterance u .*lengths differ by 500 samples"):
        run(tmp_path, tmp_path / "out")


def test_refuses_missing_files_and_utterances(tmp_path):
    x = harmonic_glide(FS, 0.6)
    write_pair(tmp_path, x, x)
    (tmp_path / "gen.scp").write_text(f"u {tmp_path}/missing.wav\n")
    with pytest.raises(
        ValueError, match=r"No utterance of .*gen\.scp could be scored \(u: .*missing\.wav does not exist"
    ):
        run(tmp_path, tmp_path / "out")
    (tmp_path / "gen.scp").write_text(f"u {tmp_path}/g.wav\nv {tmp_path}/g.wav\n")
    with pytest.raises(ValueError, match="1 utterance.* have no reference .* e.g. v"):
        run(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_read_scp_refuses_malformed_lines(tmp_path):
    (tmp_path / "bad.scp").write_text("only_an_id\n")
    with pytest.raises(ValueError, match=r"bad\.scp:1: expected 'utt_id path'"):
        read_scp(str(tmp_path / "bad.scp"))
    with pytest.raises(FileNotFoundError, match="nothing.scp does not exist"):
        read_scp(str(tmp_path / "nothing.scp"))
