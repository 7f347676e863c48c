#!/usr/bin/env python3
"""Decode with a trained vocoder: waveforms (copy synthesis) or log-mels in, waveforms out.

Example:
    python -m espnet2_spiking.bin.gan_vocoder_inference \\
        --model_file exp/snn/valid.mel_loss.best.pth \\
        --data_path_and_name_and_type dump/raw/test/wav.scp,speech,sound --output_dir out/
    # from mel features (Kaldi ark, frames x mels):
    ... --data_path_and_name_and_type dump/fbank/test/feats.scp,feats,kaldi_ark

Writes ``<output_dir>/wav/<utt_id>.wav`` and, when every utterance is decoded,
``<output_dir>/wav.scp``. Inputs longer than ``--chunk_seconds`` (default 20 s) are decoded
in overlapping chunks, in bounded memory, with the samples of whole-utterance decoding.
Refused before anything is written: duplicate utterance ids and ids that are not safe file
names. An utterance whose decoding gives NaN or infinite samples stops the run, named;
samples above full scale (clipped by 16-bit PCM) are named in a warning.

Python:
    >>> from espnet2_spiking.bin.gan_vocoder_inference import Vocoder
    >>> vocoder = Vocoder.from_pretrained("exp/snn/valid.mel_loss.best.pth")
    >>> wav = vocoder.copy_synthesis(speech)   # (N,) at vocoder.fs
    >>> wav = vocoder.decode(mel)              # mel (frames, n_mels) -> (frames * hop,)
"""

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Optional, Union

import numpy as np
import soundfile
import torch
from espnet2.utils.types import str2triple_str, str_or_none

from espnet2_spiking.gan_vocoder.chunked import chunked_inference
from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask, generator_choices
from espnet2_spiking.utils.audio_check import check_wav_scp
from espnet2_spiking.utils.checkpoint import load_generator, load_train_config
from espnet2_spiking.utils.cli import setup_logging
from espnet2_spiking.utils.scp import read_scp

DEFAULT_CHUNK_SECONDS = 20.0  # about 0.6 GB for the full-size student (28 MB per second of audio)


class Vocoder:
    """A trained generator with its feature extractor, ready to decode.

    Args:
        model_file: Checkpoint of ``gan_vocoder_train`` (``*.pth``), read without running code.
        train_config: Its ``config.yaml`` (default: beside ``model_file``).
        device: Torch device.
        chunk_seconds: Longer inputs are decoded in chunks of this many seconds of audio (with
            overlapping context; the samples equal whole-utterance decoding), so memory stays
            bounded; ``None`` or 0 decodes every input whole.
    """

    def __init__(
        self,
        model_file: Union[str, Path],
        train_config: Union[str, Path, None] = None,
        device: str = "cpu",
        chunk_seconds: Optional[float] = DEFAULT_CHUNK_SECONDS,
    ):
        config, args = load_train_config(model_file, train_config)
        generator = getattr(args, "generator", None)
        if generator not in generator_choices.classes or not hasattr(args, "feats_extract_conf"):
            raise ValueError(
                f"{config} is not a config of gan_vocoder_train (generator: {generator}; expected one of "
                f"{', '.join(generator_choices.classes)} with feats_extract_conf). Pass the config.yaml and "
                "model file of a vocoder training; a text-to-speech model decodes with "
                "espnet2_spiking.bin.tts_inference."
            )
        self.generator_type = generator
        self.feats_extract = GANVocoderTask.build_feats_extract(args).to(device).eval()
        self.generator = GANVocoderTask.build_generator(args, self.feats_extract)
        load_generator(self.generator, model_file, config)
        self.generator.to(device).eval()
        self.device = device
        self.chunk_frames = (
            round(chunk_seconds * self.fs / self.generator.upsample_factor) if chunk_seconds else None
        )

    @classmethod
    def from_pretrained(
        cls,
        model_file: Union[str, Path],
        train_config: Union[str, Path, None] = None,
        device: str = "cpu",
        chunk_seconds: Optional[float] = DEFAULT_CHUNK_SECONDS,
    ) -> "Vocoder":
        return cls(model_file, train_config, device, chunk_seconds)

    @property
    def fs(self) -> int:
        return self.feats_extract.fs

    @torch.inference_mode()
    def decode(self, mel: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """Args: mel: log-mel (frames, n_mels), ESPnet's layout. Returns: waveform (frames * hop,)."""
        mel = torch.as_tensor(mel, dtype=torch.float32, device=self.device)
        if self.chunk_frames and mel.dim() == 2 and mel.size(0) > self.chunk_frames:
            return chunked_inference(self.generator, mel, self.chunk_frames)
        return self.generator.inference(mel).view(-1)

    @torch.inference_mode()
    def copy_synthesis(self, speech: Union[torch.Tensor, np.ndarray]) -> torch.Tensor:
        """Args: speech: mono waveform (N,) at ``fs``. Returns: its resynthesis (N,)."""
        speech = torch.as_tensor(speech, dtype=torch.float32, device=self.device)
        if speech.dim() != 1:
            raise ValueError(
                f"copy_synthesis expects a mono waveform (N,), got shape {tuple(speech.shape)}; "
                "mix it down to one channel first."
            )
        mel = self.feats_extract.mel(speech[None])[0]
        return self.decode(mel.transpose(0, 1))[: speech.numel()]


def check_output(wav: torch.Tensor, utt: str, source: str) -> np.ndarray:
    """Refuse generated audio that is not finite; warn about samples that 16-bit PCM clips.

    Args:
        wav: Generated waveform (N,).
        utt: Its utterance id; ``source``: the input it was decoded from (both named).

    Returns:
        The waveform as a numpy array.
    """
    wav = wav.cpu().numpy()
    bad = np.count_nonzero(~np.isfinite(wav))
    if bad:
        raise ValueError(
            f"Decoding {utt} (from {source}) gave {bad} NaN or infinite samples of {wav.size}; nothing was "
            "written for it. The model file or this input is broken: check the input for NaN, or decode "
            "with another checkpoint."
        )
    peak = float(np.abs(wav).max(initial=0.0))
    if peak > 1.0:
        logging.warning(f"{utt}: generated peak {peak:.3f} is above full scale; 16-bit PCM clips it")
    return wav


def inference(
    model_file: str,
    train_config: Optional[str],
    data_path_and_name_and_type,
    output_dir: str,
    key_file: Optional[str] = None,
    device: str = "cpu",
    num_workers: int = 1,
    chunk_seconds: Optional[float] = DEFAULT_CHUNK_SECONDS,
):
    vocoder = Vocoder(model_file, train_config, device, chunk_seconds)
    for path, _, kind in data_path_and_name_and_type:
        if kind == "sound":
            check_wav_scp(path, vocoder.fs)
        else:
            read_scp(path)  # keys become file names: refuse duplicates and unsafe ones first
    if key_file is not None:
        read_scp(key_file)
    loader = GANVocoderTask.build_streaming_iterator(
        data_path_and_name_and_type,
        preprocess_fn=None,
        collate_fn=GANVocoderTask.build_collate_fn(argparse.Namespace(), False),
        key_file=key_file,
        batch_size=1,
        dtype="float32",
        num_workers=num_workers,
        inference=True,
    )
    wav_dir = Path(output_dir) / "wav"
    wav_scp = Path(output_dir) / "wav.scp"
    if wav_scp.exists():
        logging.warning(f"{output_dir} holds an earlier decoding; its wav.scp is replaced when this one ends")
    wav_dir.mkdir(parents=True, exist_ok=True)
    source = data_path_and_name_and_type[0][0]
    total_samples, start, lines = 0, time.perf_counter(), []
    for i, (keys, batch) in enumerate(loader, 1):
        if "feats" in batch:
            wav = vocoder.decode(batch["feats"][0])
        elif "speech" in batch:
            wav = vocoder.copy_synthesis(batch["speech"][0])
        else:
            raise ValueError("Give a 'speech' (sound) or 'feats' (kaldi_ark) input.")
        out = wav_dir / f"{keys[0]}.wav"
        soundfile.write(out, check_output(wav, keys[0], source), vocoder.fs, "PCM_16")
        lines.append(f"{keys[0]} {out}\n")
        total_samples += wav.numel()
        if i % 10 == 0:
            logging.info(f"{i} utterances decoded")
    tmp = wav_scp.with_name(wav_scp.name + ".tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, wav_scp)
    elapsed = time.perf_counter() - start
    audio_seconds = total_samples / vocoder.fs
    logging.info(
        f"Decoded {audio_seconds:.1f} s of audio in {elapsed:.1f} s "
        f"(RTF {elapsed / max(audio_seconds, 1e-9):.4f}) into {wav_dir}"
    )


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Vocoder decoding (copy synthesis or mel to waveform)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model_file", type=str, required=True)
    parser.add_argument("--train_config", type=str_or_none, default=None)
    parser.add_argument(
        "--data_path_and_name_and_type",
        type=str2triple_str,
        required=True,
        action="append",
        help="e.g. dump/raw/test/wav.scp,speech,sound or feats.scp,feats,kaldi_ark",
    )
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument("--key_file", type=str_or_none, default=None)
    parser.add_argument("--device", type=str, default="cpu")
    parser.add_argument("--num_workers", type=int, default=1)
    parser.add_argument(
        "--chunk_seconds",
        type=float,
        default=DEFAULT_CHUNK_SECONDS,
        help="Decode longer inputs in overlapping chunks of this many seconds (bounded memory, same "
        "samples); 0: always whole",
    )
    parser.add_argument("--log_level", type=str, default="INFO")
    return parser


def main(cmd=None):
    print(" ".join(sys.argv), file=sys.stderr)
    args = get_parser().parse_args(cmd)
    setup_logging(args.log_level)
    kwargs = vars(args)
    kwargs.pop("log_level")
    inference(**kwargs)


if __name__ == "__main__":
    main()
