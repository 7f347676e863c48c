"""ONNX round trip: teacher and student exported whole (ISTFT included), decoded by onnxruntime."""

import pytest
import torch

from espnet2_spiking.bin.export_onnx import main as export_main
from espnet2_spiking.gan_vocoder.onnx_export import OnnxVocoder, export_onnx
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from tests.conftest import make_spiking_vocos_args, make_vocos_args

pytest.importorskip("onnxruntime")

GENERATORS = [
    (VocosGenerator, make_vocos_args()),
    (SpikingVocosGenerator, make_spiking_vocos_args()),
    (SpikingVocosGenerator, make_spiking_vocos_args(use_tsm=True, padding="center")),  # the reference's
]


@pytest.mark.parametrize("cls, args", GENERATORS, ids=["vocos", "spiking_vocos", "spiking_vocos_tsm_center"])
def test_onnx_decoding_matches_pytorch(cls, args, tmp_path):
    generator = cls(**args)
    onnx_vocoder = OnnxVocoder(export_onnx(generator, tmp_path / "g.onnx"))
    assert onnx_vocoder.upsample_factor == generator.upsample_factor == args["hop_length"]
    for batch, frames in ((1, 7), (3, 40)):  # dynamic batch and length, none of them the export's
        mel = 2 * torch.randn(batch, args["in_channels"], frames)
        with torch.no_grad():
            expected = generator(mel)
        wav = onnx_vocoder(mel)
        frames_out = frames - (args.get("padding") == "center")  # "center": (L - 1) * hop samples
        assert wav.shape == expected.shape == (batch, 1, frames_out * args["hop_length"])
        assert torch.allclose(wav, expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"expects a log-mel of shape \(B, 16, frames\)"):
        onnx_vocoder(torch.zeros(1, args["in_channels"] + 1, 5))


def test_onnx_decoding_refuses_what_pytorch_refuses(tmp_path):
    """One set of input checks on every decoding path: NaN, infinity, no frames, a wrong shape."""
    generator = VocosGenerator(**make_vocos_args())
    onnx_vocoder = OnnxVocoder(export_onnx(generator, tmp_path / "g.onnx"))
    nan, inf = torch.randn(1, 16, 9), torch.randn(1, 16, 9)
    nan[0, 3, 4], inf[0, 0, 0] = float("nan"), float("-inf")
    for mel, message in [
        (nan, "got a log-mel with 1 NaN or infinite values"),
        (inf, "got a log-mel with 1 NaN or infinite values"),
        (torch.zeros(1, 16, 0), "got a log-mel with no frames"),
        (torch.zeros(16, 9), r"expects a log-mel of shape \(B, 16, frames\)"),
    ]:
        for decode in (generator, onnx_vocoder):
            with pytest.raises(ValueError, match=message):
                decode(mel)


@pytest.mark.parametrize("opset", [12, 17])
def test_export_refuses_an_opset_it_cannot_write(opset, tmp_path):
    out = tmp_path / "g.onnx"
    with pytest.raises(ValueError, match=f"opset {opset}: .* needs ONNX opset 18 or newer .*--opset 18"):
        export_onnx(VocosGenerator(**make_vocos_args()), out, opset)
    assert list(tmp_path.iterdir()) == []


def test_export_cli_writes_a_decodable_file(tmp_path):
    out = tmp_path / "student.onnx"
    conf = "{in_channels: 16, dim: 32, intermediate_dim: 48, num_layers: 2, n_fft: 64, hop_length: 16}"
    export_main(
        ["--generator_type", "spiking_vocos", "--generator_conf", conf, "--fs", "8000", "--out", str(out)]
    )
    assert OnnxVocoder(out)(torch.randn(1, 16, 9)).shape == (1, 1, 9 * 16)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.onnx"]  # weights inside, no .onnx.data
    import onnx

    assert [o.version for o in onnx.load(str(out)).opset_import if o.domain == ""] == [18]


def test_export_refuses_a_vocoder_with_global_mvn(tmp_path):
    generator = VocosGenerator(**make_vocos_args())
    generator.normalize = torch.nn.Identity()  # stands in for GlobalMVN(stats_file)
    with pytest.raises(ValueError, match="stats_file"):
        export_onnx(generator, tmp_path / "g.onnx")
