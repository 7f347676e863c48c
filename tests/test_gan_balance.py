"""``pyscripts/utils/gan_balance.py``: the generator's loss terms, their gradients and D's margins."""

import sys
from pathlib import Path

import torch

from espnet2_spiking.gan_vocoder.espnet_model import ESPnetGANVocoderModel
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import VocosLogMel
from tests.conftest import TINY_DISCRIMINATOR, TINY_MEL, make_vocos_args

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "egs2" / "TEMPLATE" / "voc1" / "pyscripts" / "utils"))
from gan_balance import balance_table, generator_terms  # noqa: E402


def make_model(**kwargs) -> ESPnetGANVocoderModel:
    conf = dict(segment_size=512, discriminator_params=TINY_DISCRIMINATOR, gan_loss_style="vocos")
    conf.update(kwargs)
    return ESPnetGANVocoderModel(VocosLogMel(**TINY_MEL), VocosGenerator(**make_vocos_args()), None, **conf).train()


def batch():
    return 0.1 * torch.randn(2, 1200), torch.tensor([1200, 700])


def parse(table: str):
    rows = [line.strip("|").split("|") for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


def test_terms_are_the_model_losses():
    model = make_model(lambda_mel=2.0, lambda_feat_match=3.0)
    terms, margins = generator_terms(model, *batch())
    assert set(terms) == {
        "mel (x lambda_mel)",
        "adversarial MPD (x lambda_adv)",
        "adversarial MRD (x lambda_adv lambda_mrd)",
        "feature matching (x lambda_feat_match)",
    }
    assert set(margins) == {"mpd", "mrd"} and all(abs(m) < 10 for m in margins.values())
    # the adversarial terms as the model weighs them: MPD + lambda_mrd * MRD = generator_adv_loss
    torch.manual_seed(1)
    speech, lengths = batch()
    torch.manual_seed(2)
    terms, _ = generator_terms(model, speech, lengths)
    torch.manual_seed(2)
    stats = model(speech=speech.clone(), speech_lengths=lengths, forward_generator=True)["stats"]
    adv = terms["adversarial MPD (x lambda_adv)"] + terms["adversarial MRD (x lambda_adv lambda_mrd)"]
    assert torch.allclose(adv, stats["generator_adv_loss"])
    assert torch.allclose(terms["feature matching (x lambda_feat_match)"], 3.0 * stats["generator_feat_match_loss"])
    assert torch.allclose(terms["mel (x lambda_mel)"], 2.0 * stats["mel_loss"])


def test_table_gradient_norms_and_cosines():
    table = parse(balance_table(make_model(lambda_adv=0.0), *batch()))
    mel = table["mel (x lambda_mel)"]
    assert float(mel[1]) > 0 and mel[2] == "1.000"  # the mel gradient against itself
    assert float(table["adversarial MPD (x lambda_adv)"][1]) == 0.0  # weight 0: no gradient
    assert float(table["feature matching (x lambda_feat_match)"][1]) > 0
    assert set(table) >= {"MPD", "MRD"}
