#!/usr/bin/env python3
"""How the losses pull on a GAN vocoder's generator, and how far its discriminators tell real
from generated audio: what to look at when adversarial training does not help.

For a trained model (teacher or student of ``gan_vocoder_train``) on training segments of
real audio, prints a markdown table: each weighted term of the generator loss (mel,
adversarial MPD and MRD, feature matching, distillation), its value, the norm of its
gradient on the generator's weights and the cosine between that gradient and the mel
loss's; then the discriminators' margin, mean D(real) - mean D(generated), for the MPD and
the MRD (averaged over their sub-discriminators).

    python pyscripts/utils/gan_balance.py --wav_scp dump/raw/mini_dev_clean/wav.scp \\
        --model_file exp/voc_gan_study_teacher_gan/valid.mel_loss.best.pth

The discriminators are the checkpoint's: for a model trained with the mel loss alone they
are untrained and their numbers mean nothing.
"""

import argparse
from typing import Dict, List

import soundfile
import torch

from espnet2_spiking.gan_vocoder.espnet_model import ESPnetGANVocoderModel
from espnet2_spiking.gan_vocoder.losses import log_mel_l1_loss
from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask
from espnet2_spiking.utils.checkpoint import load_state, load_train_config
from espnet2_spiking.utils.scp import read_scp


def generator_terms(model: ESPnetGANVocoderModel, speech: torch.Tensor, lengths: torch.Tensor):
    """The weighted generator loss terms and the discriminators' outputs on one batch.

    Args:
        model: The model, in training mode (random segments of ``segment_size``).
        speech: Waveforms (B, N); lengths: samples per waveform (B,).

    Returns:
        ``(terms, margins)``: term name -> scalar loss (with its graph); ``mpd``/``mrd`` ->
        mean D(real) - mean D(generated) over their sub-discriminators.
    """
    out = model._generate(speech, lengths)
    model._cache = None
    mpd_hat, mrd_hat = model.discriminator(out.speech_hat)
    with torch.no_grad():
        mpd, mrd = model.discriminator(out.speech)
    terms = {
        "mel (x lambda_mel)": model.lambda_mel
        * log_mel_l1_loss(model.feats_extract, out.speech_hat[:, 0], out.mel, out.frame_lengths),
        "adversarial MPD (x lambda_adv)": model.lambda_adv * model.generator_adv_loss(mpd_hat),
        "adversarial MRD (x lambda_adv lambda_mrd)": model.lambda_adv
        * model.lambda_mrd
        * model.generator_adv_loss(mrd_hat),
        "feature matching (x lambda_feat_match)": model.lambda_feat_match
        * model._feat_match((mpd_hat, mrd_hat), (mpd, mrd)),
    }
    if out.distill_loss is not None:
        terms["distillation (weighted)"] = out.distill_loss

    def margin(real, fake):
        return torch.stack([r[-1].mean() - f[-1].mean() for r, f in zip(real, fake)]).mean().item()

    return terms, dict(mpd=margin(mpd, mpd_hat), mrd=margin(mrd, mrd_hat))


def balance_table(model: ESPnetGANVocoderModel, speech: torch.Tensor, lengths: torch.Tensor) -> str:
    """The markdown table of :func:`generator_terms`: value, gradient norm, cosine with mel."""
    params = [p for p in model.generator_parameters() if p.requires_grad]
    terms, margins = generator_terms(model, speech, lengths)
    grads: Dict[str, torch.Tensor] = {}
    for name, term in terms.items():
        g = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
        grads[name] = torch.cat([(x if x is not None else torch.zeros_like(p)).flatten() for x, p in zip(g, params)])
    mel = grads["mel (x lambda_mel)"]
    lines = ["| generator loss term | value | gradient norm | cosine with mel's gradient |", "|:---|---:|---:|---:|"]
    for name, term in terms.items():
        cosine = torch.nn.functional.cosine_similarity(grads[name], mel, dim=0).item()
        lines.append(f"| {name} | {term.item():.4f} | {grads[name].norm().item():.4g} | {cosine:.3f} |")
    lines += ["", "| discriminator | mean D(real) - mean D(generated) |", "|:---|---:|"]
    lines += [f"| {name.upper()} | {value:.4f} |" for name, value in margins.items()]
    return "\n".join(lines)


def read_batch(wav_scp: str, num_utts: int) -> List[torch.Tensor]:
    waves = []
    for utt, path in list(read_scp(wav_scp).items())[:num_utts]:
        wav, _ = soundfile.read(path, dtype="float32", always_2d=True)
        waves.append(torch.from_numpy(wav[:, 0]))
    return waves


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_file", required=True, help="e.g. exp/voc_<tag>/valid.mel_loss.best.pth")
    parser.add_argument("--train_config", default=None, help="its config.yaml (default: beside it)")
    parser.add_argument("--wav_scp", required=True, help="real audio at the model's sampling rate")
    parser.add_argument("--num_utts", type=int, default=8, help="utterances in the batch")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random segments")
    args = parser.parse_args(argv)
    _, train_args = load_train_config(args.model_file, args.train_config)
    model = GANVocoderTask.build_model(train_args)
    model.load_state_dict(load_state(args.model_file))
    model.train()
    model.discriminator_train_start_steps = 0  # the adversarial terms, whatever the schedule
    torch.manual_seed(args.seed)
    waves = read_batch(args.wav_scp, args.num_utts)
    lengths = torch.tensor([len(w) for w in waves])
    speech = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    print(f"{args.model_file}: {len(waves)} utterances of {args.wav_scp}, one random segment each\n")
    print(balance_table(model, speech, lengths))


if __name__ == "__main__":
    main()
