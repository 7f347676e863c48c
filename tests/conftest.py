"""Shared tiny configurations: the suite must stay fast on a 2-core CPU."""

import pytest
import torch

TINY_MEL = dict(fs=8000, n_fft=64, hop_length=16, n_mels=16)


def make_vocos_args(**kwargs):
    args = dict(
        in_channels=16, dim=32, intermediate_dim=48, num_layers=2, n_fft=64, hop_length=16
    )
    args.update(kwargs)
    return args


def make_spiking_vocos_args(**kwargs):
    args = make_vocos_args(time_steps=3)
    args.update(kwargs)
    return args


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
