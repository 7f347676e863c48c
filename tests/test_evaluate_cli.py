"""The evaluate entry point: scp in, metrics.json and utt_metrics.tsv out, bad input named."""

import errno
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_spiking.bin.evaluate import main
from espnet2_spiking.metrics import evaluate as evaluate_lib
from espnet2_spiking.metrics.signals import harmonic_glide
from espnet2_spiking.utils.files import write_error
from espnet2_spiking.utils.scp import read_scp
from tests.helpers_untrusted import run_holding

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


def without_cache_dir(metrics):
    return {k: v for k, v in metrics.items() if k != "settings"}


def test_scores_repeat_to_the_last_digit_with_or_without_the_cache(corpus, tmp_path):
    """CREPE's random dither made pitch errors differ between runs, and a cached track fixed one draw."""
    (tmp_path / "same.scp").write_text(f"a {corpus}/a_ref.wav\nb {corpus}/b_gen.wav\n")
    runs = []
    for cache in ("cold", "cold", "other"):  # cold cache, the same one warm, another cold one
        out = tmp_path / f"eval_{len(runs)}"
        main(["--ref_scp", str(corpus / "ref.scp"), "--gen_scp", str(tmp_path / "same.scp"), "--out_dir", str(out),
              "--crepe_model", "tiny", "--pitch_cache_dir", str(tmp_path / cache)])  # fmt: skip
        runs.append(((out / "utt_metrics.tsv").read_text(), without_cache_dir(json.loads((out / "metrics.json").read_text()))))
    assert runs[0] == runs[1] == runs[2]
    assert read_tsv(tmp_path / "eval_0" / "utt_metrics.tsv")["a"]["pitch_rmse_cents"] == "0"  # bit-identical audio


def test_a_second_run_into_the_same_folder_is_refused_before_scoring(corpus, tmp_path):
    out = tmp_path / "eval"
    with run_holding(out), pytest.raises(RuntimeError, match=f"{out} is being written by another evaluate run"):
        main(["--ref_scp", str(corpus / "ref.scp"), "--gen_scp", str(corpus / "gen.scp"), "--out_dir", str(out),
              "--crepe_model", "tiny", "--pitch_cache_dir", str(tmp_path / "cache")])  # fmt: skip
    assert not (tmp_path / "cache").exists() and sorted(p.name for p in out.iterdir()) == [".lock"]
    assert (out / ".lock").read_text() == "otherhost 12345\n"  # the other run's lock is left alone
    run(corpus, out)  # the lock file a finished (or killed) run left behind is taken
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "utt_metrics.tsv"]


def test_an_unwritable_or_full_out_dir_fails_before_scoring(corpus, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    args = ["--ref_scp", str(corpus / "ref.scp"), "--gen_scp", str(corpus / "gen.scp"), "--crepe_model", "tiny",
            "--pitch_cache_dir", str(tmp_path / "cache")]  # fmt: skip
    with pytest.raises(OSError, match=f"cannot write {tmp_path}/file/eval/.lock: .*nothing was written"):
        main([*args, "--out_dir", str(tmp_path / "file" / "eval")])
    monkeypatch.setattr(evaluate_lib.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1, 1, 100))
    with pytest.raises(OSError, match=f"{tmp_path / 'eval'} has 100 bytes free, .*nothing was scored"):
        main([*args, "--out_dir", str(tmp_path / "eval")])
    assert not (tmp_path / "cache").exists()


def test_results_that_cannot_be_written_are_logged(corpus, tmp_path, monkeypatch, caplog):
    def disk_full(path, text):
        raise write_error(path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(evaluate_lib, "write_text", disk_full)
    with pytest.raises(OSError, match="utt_metrics.tsv: No space left on device; nothing was written there"):
        run(corpus, tmp_path)
    assert f"not written: {tmp_path / 'utt_metrics.tsv'}, which would hold:\nutt_id\tpesq_wb" in caplog.text
    assert '"num_utts": 2' in caplog.text and not list(tmp_path.iterdir())


def test_a_shell_command_in_a_list_is_refused_not_run(corpus, tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "gen.scp").write_text(f"a touch {marker}; cat {corpus}/a_gen.wav |\n")
    with pytest.raises(ValueError, match=f"gen.scp: the audio of a is a shell command .*format_wav_scp"):
        main(["--ref_scp", str(corpus / "ref.scp"), "--gen_scp", str(tmp_path / "gen.scp"),
              "--out_dir", str(tmp_path / "eval")])  # fmt: skip
    assert not marker.exists() and not (tmp_path / "eval").exists()
