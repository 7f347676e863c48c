"""ONNX export of the teacher and the student, and decoding with onnxruntime.

The whole decoder is one ONNX graph: log-mel (B, in_channels, L) -> waveform (B, L * hop)
(``(L - 1) * hop`` with the ISTFT's "center" padding), backbone and ISTFT head included
(the inverse FFT becomes ONNX ``DFT``, the overlap-add ``Col2Im``, so opset 18 or newer).
Batch and frames are dynamic; the student's SNN time steps T are unrolled at export, so T
is fixed in the file. The student's neurons are
exported in their inference form (:func:`espnet2_spiking.gan_vocoder.plif.plif_inference`):
comparisons, products and sums, no custom operator.

Not in the graph: the input checks of every decoding path
(:func:`~espnet2_spiking.gan_vocoder.mel_vocoder.check_mel`: shape, frames, NaN or infinite
values; :class:`OnnxVocoder` runs them before the graph) and the de-normalisation of a
vocoder built with ``stats_file`` (refused: export the vocoder without it and de-normalise
the mel first).

Needs the ``onnx`` extra (``pip install espnet2_spiking[onnx]``: onnx, onnxscript for
torch's exporter, onnxruntime).
"""

import logging
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from spikingjelly.activation_based import functional

from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder, check_mel
from espnet2_spiking.utils.files import write_bytes

OPSET = 18


class _Decoder(torch.nn.Module):
    """``generator``'s decoding without the input checks: mel (B, C, L) -> waveform (B, samples)."""

    def __init__(self, generator: MelVocoder):
        super().__init__()
        self.generator = generator

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        feats, _ = self.generator.backbone(mel)
        return self.generator.head(feats)


def export_onnx(generator: MelVocoder, path: Union[str, Path], opset: int = OPSET) -> Path:
    """Write ``generator`` (teacher or student, on CPU) as an ONNX model.

    Args:
        generator: A ``vocos`` or ``spiking_vocos`` generator; it is put in eval mode.
        path: Output ``.onnx`` file, written in one step, weights inside (no ``.onnx.data``).
        opset: ONNX opset (18 or newer: ``Col2Im``).

    Returns:
        ``path``. Its metadata holds ``upsample_factor`` and ``in_channels``.

    Raises:
        ValueError: ``opset`` is below 18, or the exporter wrote another opset; nothing is written.
    """
    import onnx

    if isinstance(opset, bool) or not isinstance(opset, int) or opset < OPSET:
        raise ValueError(
            f"opset {opset!r}: the vocoder's inverse STFT needs ONNX opset {OPSET} or newer (DFT, Col2Im). "
            f"Pass --opset {OPSET}, or a newer one that your runtime supports."
        )
    if generator.normalize is not None:
        raise ValueError(
            "ONNX export of a vocoder built with stats_file is not supported: export it without "
            "stats_file and de-normalise the mel before decoding."
        )
    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"{path}: name the ONNX file *.onnx")
    generator.eval()
    # batch 2 and 16 frames: torch.export would fix dimensions of size 1 in the graph
    mel = torch.zeros(2, generator.in_channels, 16)
    # the exporter and its graph optimiser log every pass and initializer at INFO
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "onnx_ir")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with torch.no_grad():
            program = torch.onnx.export(
                _Decoder(generator),
                (mel,),
                input_names=["mel"],
                output_names=["wav"],
                dynamic_shapes=({0: "batch", 2: "frames"},),
                opset_version=opset,
                dynamo=True,
                optimize=True,
                verbose=False,
            )
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        functional.reset_net(generator)  # the trace left symbolic potentials in the neurons' memory
    model = program.model_proto
    written = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if written != opset:
        raise ValueError(
            f"opset {opset}: torch's exporter wrote opset {written} instead; nothing was written to {path}. "
            f"Pass --opset {written}."
        )
    onnx.helper.set_model_props(
        model, dict(upsample_factor=str(generator.upsample_factor), in_channels=str(generator.in_channels))
    )
    write_bytes(path, model.SerializeToString())
    return path


class OnnxVocoder:
    """An exported vocoder decoding with onnxruntime on CPU, with the generator's call face.

    Args:
        path: A file of :func:`export_onnx`.
        threads: Intra-op threads of onnxruntime (default: torch's, for a fair comparison).
    """

    def __init__(self, path: Union[str, Path], threads: Optional[int] = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.path = path
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.upsample_factor = int(meta["upsample_factor"])
        self.in_channels = int(meta["in_channels"])

    def __call__(self, mel: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """Args: mel: log-mel (B, in_channels, L). Returns: waveform (B, 1, samples), as the generator's."""
        mel = np.ascontiguousarray(mel.detach().cpu().numpy() if torch.is_tensor(mel) else mel, np.float32)
        check_mel(mel, self.in_channels, name=f"OnnxVocoder ({self.path})")
        (wav,) = self.session.run(None, {"mel": mel})
        return torch.from_numpy(wav).unsqueeze(1)
