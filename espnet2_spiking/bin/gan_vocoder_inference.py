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

``--model_file`` may also be a vocoder directory or the archive of ``bin/pack_vocoder``;
``--ngpu 1`` decodes on a GPU. In Python, :class:`espnet2_spiking.vocoder.Vocoder` decodes.
"""

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Optional

import soundfile
from espnet2.utils.types import str2triple_str, str_or_none

from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask
from espnet2_spiking.utils.allocator import keep_freed_memory
from espnet2_spiking.utils.audio_check import check_wav_scp
from espnet2_spiking.utils.cli import add_device_arguments, device_of, setup_logging
from espnet2_spiking.utils.scp import read_scp
from espnet2_spiking.vocoder import DEFAULT_CHUNK_SECONDS, Vocoder, check_output


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
    """Decode every utterance of the inputs (or of ``key_file``) into ``<output_dir>/wav``."""
    vocoder = Vocoder.from_pretrained(model_file, train_config, device, chunk_seconds)
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
    parser.add_argument(
        "--key_file", type=str_or_none, default=None, help="Decode only these utterances (a split of the set)"
    )
    add_device_arguments(parser)
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
    keep_freed_memory()
    kwargs = vars(args)
    kwargs.pop("log_level")
    kwargs["device"] = device_of(kwargs.pop("ngpu"), kwargs["device"])
    inference(**kwargs)


if __name__ == "__main__":
    main()
