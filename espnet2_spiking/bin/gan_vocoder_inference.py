#!/usr/bin/env python3
"""Decode with a trained vocoder: waveforms (copy synthesis) or log-mels in, waveforms out.

Example:
    python -m espnet2_spiking.bin.gan_vocoder_inference \\
        --model_file exp/snn/valid.mel_loss.best.pth \\
        --data_path_and_name_and_type dump/raw/test/wav.scp,speech,sound --output_dir out/
    # from mel features (Kaldi ark, frames x mels):
    ... --data_path_and_name_and_type dump/fbank/test/feats.scp,feats,kaldi_ark

Writes ``<output_dir>/wav/<utt_id>.wav`` (each in one step: never a truncated file) and,
when every utterance is decoded, ``<output_dir>/wav.scp``; the ``wav.scp`` of an earlier
decoding into the same folder is removed first, so it never lists a mix of two runs.
Inputs longer than ``--chunk_seconds`` (default 20 s) are decoded in overlapping chunks, in
bounded memory, with the samples of whole-utterance decoding.

Refused before anything is written: duplicate utterance ids and ids that are not safe file
names, audio shorter than the model needs (``n_fft // 2 + 1`` samples), at another rate or
not mono, and a second run into the same ``--output_dir`` (``<output_dir>/.lock``). An
utterance that cannot be decoded (NaN or infinite values in its input or output, ...) is
named with its input file and the rest is decoded; the failures are listed at the end, no
``wav.scp`` is written and the exit status is non-zero. Samples above full scale (clipped
by 16-bit PCM) are named in a warning.

Inputs are read by ESPnet's readers. Kaldi's shell commands (a list value ending in
``|``, e.g. ``utt1 sox a.flac -t wav - |``) are refused, because lists handed over by
others must not run commands: format such audio first (``espnet2_spiking.bin.format_wav_scp``,
the recipe's stage 2; ESPnet's ``sound`` reader reads files only anyway), and pass
``--allow_pipes true`` to let kaldiio run the commands of a ``kaldi_ark`` list you trust.

``--model_file`` may also be a vocoder directory or the archive of ``bin/pack_vocoder``;
``--ngpu 1`` decodes on a GPU. In Python, :class:`espnet2_spiking.vocoder.Vocoder` decodes one input and
:func:`espnet2_spiking.decoding.inference` a list.
"""

import argparse
import sys

from espnet2.utils.types import str2bool, str2triple_str, str_or_none

from espnet2_spiking.decoding import inference
from espnet2_spiking.utils.allocator import keep_freed_memory
from espnet2_spiking.utils.cli import add_device_arguments, device_of, non_negative_float, setup_logging
from espnet2_spiking.vocoder import DEFAULT_CHUNK_SECONDS


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
        help="e.g. dump/raw/test/wav.scp,speech,sound or feats.scp,feats,kaldi_ark; read by ESPnet's "
        "readers; Kaldi's shell commands ('cmd |' values) are refused (see --allow_pipes)",
    )
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument(
        "--key_file", type=str_or_none, default=None, help="Decode only these utterances (a split of the set)"
    )
    add_device_arguments(parser)
    parser.add_argument("--num_workers", type=int, default=1)
    parser.add_argument(
        "--chunk_seconds",
        type=non_negative_float,
        default=DEFAULT_CHUNK_SECONDS,
        help="Decode longer inputs in overlapping chunks of this many seconds (bounded memory, same "
        "samples); 0: always whole",
    )
    parser.add_argument(
        "--allow_pipes",
        type=str2bool,
        default=False,
        help="Let kaldiio run the Kaldi shell commands ('cmd |' values) of kaldi_ark lists; refused by "
        "default, since a list handed over by someone else must not run commands (sound lists: files only)",
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
