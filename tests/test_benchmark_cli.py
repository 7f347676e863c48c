"""The benchmark and plot_spikes entry points on tiny untrained models; the report files."""

import importlib.util
import json
import re

import numpy as np
import pytest
import soundfile as sf

from espnet2_spiking.bin import benchmark, plot_spikes
from espnet2_spiking.metrics.energy import reference_energy
from espnet2_spiking.metrics.report import append_report
from espnet2_spiking.metrics.signals import harmonic_glide
from tests.helpers import check_png

FS = 8000
TINY = [
    "--generator_conf",
    "{in_channels: 16, dim: 32, intermediate_dim: 48, num_layers: 2, n_fft: 64, hop_length: 16, "
    "time_steps: 3, v_threshold: 0.05}",
    "--fs",
    str(FS),
]
FAST = ["--batch_sizes", "1", "2", "--speed_seconds", "0.5", "--repeats", "2"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """One benchmark run of an untrained tiny student and its teacher, with a quality file."""
    root = tmp_path_factory.mktemp("bench")
    quality = dict(
        pesq_wb=3.5,
        stoi=0.95,
        periodicity_rmse=0.1,
        pitch_rmse_cents=20.0,
        vuv_f1=0.96,
        mel_l1=0.2,
        mcd=3.0,
        utmos=None,
        num_utts=4,
    )
    (root / "metrics.json").write_text(json.dumps(quality))
    benchmark.main(
        [
            "--generator_type",
            "spiking_vocos",
            *TINY,
            *FAST,
            "--out_dir",
            str(root / "exp" / "bench"),
            "--quality",
            f"student={root / 'metrics.json'}",
            "--results_md",
            str(root / "RESULTS.md"),
            "--title",
            "Tiny",
        ]
    )
    return root


def test_benchmark_writes_every_file(bench):
    out = bench / "exp" / "bench"
    for name in ["benchmark.json", "energy_layers.tsv", "report.md"]:
        assert (out / name).stat().st_size > 0, name
    for name in ["energy.png", "firing_rates_student.png", "spikes_student.png"]:
        check_png(out / name)


def test_benchmark_results(bench):
    results = json.loads((bench / "exp" / "bench" / "benchmark.json").read_text())
    assert list(results["systems"]) == ["teacher", "student"]
    assert "untrained" in results["systems"]["teacher"] and "T=3" in results["systems"]["student"]
    teacher, student = results["energy"]["teacher"], results["energy"]["student"]
    assert teacher["frames"] == student["frames"] == 1000  # the synthetic tone
    closed_form = reference_energy(num_frames=1000, dim=32, intermediate_dim=48, num_layers=2, kernel_size=7)
    assert teacher["energy_mj"]["reference"] == pytest.approx(closed_form["ann_mj"])
    assert 0 < student["global_firing_rate"] < 1 and len(student["firing_rates"]) == 4
    assert student["energy_mj"]["reference"] < teacher["energy_mj"]["reference"]
    for name in ("teacher", "student"):
        runs = results["speed"][name]
        assert [r["batch_size"] for r in runs] == [1, 2] and all(r["repeats"] == 2 for r in runs)
        assert runs[1]["audio_s"] == pytest.approx(2 * runs[0]["audio_s"])
    assert results["quality"]["student"]["pesq_wb"] == 3.5
    if importlib.util.find_spec("onnxruntime"):  # the '[onnx]' extra: ONNX speed beside PyTorch's
        assert [r["batch_size"] for r in results["speed_onnx"]["student"]] == [1, 2]
    layers = (bench / "exp" / "bench" / "energy_layers.tsv").read_text().splitlines()
    assert layers[0].split("\t")[:3] == ["system", "layer", "part"]
    assert any(line.startswith("student\tbackbone.convnext.1.pwconv2\tpointwise layers") for line in layers)


def test_report_and_results_md(bench):
    report = (bench / "exp" / "bench" / "report.md").read_text()
    for heading in [
        "## Tiny",
        "### Quality",
        "### Energy per 1000 frames",
        "#### Energy by part",
        "### Speed",
        "#### Firing rates: student",
        "### Pictures",
    ]:
        assert heading in report, heading
    assert "| student | 3.500 | 0.950 |" in report
    assert "SNN 8.50 mJ vs ANN 58.01 mJ = 14.65 %" in report
    assert re.search(r"student / teacher: \*\*[\d.]+ %\*\* in the reference convention", report)
    assert "![energy by part](energy.png)" in report
    results_md = (bench / "RESULTS.md").read_text()
    assert "## Tiny" in results_md and "![energy by part](exp/bench/energy.png)" in results_md
    append_report(bench / "exp" / "bench" / "report.md", bench / "RESULTS.md")
    assert (bench / "RESULTS.md").read_text().count("## Tiny") == 2


def test_append_report_needs_a_report(tmp_path):
    with pytest.raises(FileNotFoundError, match="run espnet2_spiking.bin.benchmark first"):
        append_report(tmp_path / "report.md", tmp_path / "RESULTS.md")


def write_scp(root, fs, seconds):
    lines = []
    for i, s in enumerate(seconds):
        sf.write(root / f"u{i}.wav", harmonic_glide(fs, s, silence=0.1), fs)
        lines.append(f"u{i} {root}/u{i}.wav")
    (root / "wav.scp").write_text("\n".join(lines) + "\n")
    return root / "wav.scp"


def test_benchmark_on_data_without_teacher(tmp_path):
    scp = write_scp(tmp_path, FS, [0.4, 0.6, 0.5])
    benchmark.main(
        [
            "--generator_type",
            "spiking_vocos",
            *TINY,
            *FAST,
            "--data",
            str(scp),
            "--num_utts",
            "2",
            "--no_teacher",
            "--out_dir",
            str(tmp_path / "out"),
        ]
    )
    results = json.loads((tmp_path / "out" / "benchmark.json").read_text())
    assert list(results["systems"]) == ["student"]
    assert results["energy"]["student"]["frames"] == (int(0.4 * FS) // 16 + 1) + (int(0.6 * FS) // 16 + 1)
    assert "2 utterance(s)" in results["input"]


def test_benchmark_of_an_ann_alone(tmp_path):
    benchmark.main(
        [
            "--generator_type",
            "vocos",
            *TINY[:1],
            "{in_channels: 16, dim: 32, intermediate_dim: 48, " "num_layers: 2, n_fft: 64, hop_length: 16}",
            *TINY[2:],
            *FAST,
            "--out_dir",
            str(tmp_path),
        ]
    )
    results = json.loads((tmp_path / "benchmark.json").read_text())
    assert list(results["systems"]) == ["model"]
    assert not (tmp_path / "spikes_model.png").exists()


def test_benchmark_refuses_data_at_another_rate(tmp_path):
    scp = write_scp(tmp_path, 16000, [0.4])
    with pytest.raises(ValueError, match=r"u0\.wav is 16000 Hz but the model runs at 8000 Hz"):
        benchmark.main(
            ["--generator_type", "spiking_vocos", *TINY, "--data", str(scp), "--out_dir", str(tmp_path)]
        )


@pytest.mark.parametrize("entry, error", [("student", "NAME=path"), ("student=nothing.json", "not found")])
def test_benchmark_refuses_bad_quality_arguments(tmp_path, entry, error):
    with pytest.raises((ValueError, FileNotFoundError), match=error):
        benchmark.main(
            ["--generator_type", "spiking_vocos", *TINY, "--quality", entry, "--out_dir", str(tmp_path)]
        )


def test_plot_spikes(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, harmonic_glide(16000, 0.5, silence=0.1), 16000)  # resampled to the model's 8 kHz
    plot_spikes.main(
        ["--generator_type", "spiking_vocos", *TINY, "--wav", str(wav), "--out", str(tmp_path / "s.png")]
    )
    for name in ["s.png", "s_firing_rates.png", "s_mel.png"]:
        check_png(tmp_path / name)


def test_plot_spikes_refuses_an_ann(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(4000, np.float32), FS)
    with pytest.raises(ValueError, match="VocosGenerator has no spiking layers"):
        plot_spikes.main(
            [
                "--generator_type",
                "vocos",
                "--generator_conf",
                "{in_channels: 16, dim: 32, "
                "intermediate_dim: 48, num_layers: 2, n_fft: 64, hop_length: 16}",
                "--fs",
                str(FS),
                "--wav",
                str(wav),
                "--out",
                str(tmp_path / "s.png"),
            ]
        )
    with pytest.raises(ValueError, match="no spiking layer matches --layers 'nothing'"):
        plot_spikes.main(
            [
                "--generator_type",
                "spiking_vocos",
                *TINY,
                "--wav",
                str(wav),
                "--layers",
                "nothing",
                "--out",
                str(tmp_path / "s.png"),
            ]
        )


@pytest.fixture(scope="module")
def trained_student(tmp_path_factory):
    """A tiny spiking student trained for one step by the task's own entry point."""
    from espnet2_spiking.bin import gan_vocoder_train
    from tests.conftest import TINY_MEL, write_wav_scp
    from tests.helpers import train_cmd, write_config

    root = tmp_path_factory.mktemp("trained")
    train = write_wav_scp(root / "train", TINY_MEL["fs"], {"utt1": 0.5, "utt2": 0.3})
    dev = write_wav_scp(root / "dev", TINY_MEL["fs"], {"dev1": 0.25})
    gan_vocoder_train.main(
        train_cmd((root, train, dev), write_config(root / "std.yaml", "standard"), root / "exp")
    )
    return root / "exp" / "valid.mel_loss.best.pth", train


def test_benchmark_and_plot_spikes_of_a_trained_model(trained_student, tmp_path):
    model_file, wav_scp = trained_student
    benchmark.main(
        ["--model_file", str(model_file), "--data", str(wav_scp), *FAST, "--out_dir", str(tmp_path)]
    )
    results = json.loads((tmp_path / "benchmark.json").read_text())
    assert f"trained ({model_file})" in results["systems"]["student"]
    assert "T=2" in results["systems"]["student"]
    assert "the student's shape" in results["systems"]["teacher"]
    assert results["energy"]["student"]["frames"] == (int(0.5 * FS) // 16 + 1) + (int(0.3 * FS) // 16 + 1)
    wav = wav_scp.read_text().split()[1]
    plot_spikes.main(["--model_file", str(model_file), "--wav", wav, "--out", str(tmp_path / "s.png")])
    check_png(tmp_path / "s_mel.png")


def test_benchmark_without_onnx(tmp_path):
    out = tmp_path / "bench"
    args = ["--generator_type", "spiking_vocos", *TINY, *FAST, "--no_teacher", "--onnx", "false"]
    benchmark.main([*args, "--out_dir", str(out)])
    results = json.loads((out / "benchmark.json").read_text())
    assert "speed_onnx" not in results and not (out / "onnx").exists()
    assert [r["batch_size"] for r in results["speed"]["student"]] == [1, 2]
