"""Spiking Vocos for ESPnet. Importing the package registers its vocoders with ESPnet."""

from espnet2_spiking.registry import register

register()
