"""Spiking Vocos for ESPnet. Importing the package registers its vocoders with ESPnet."""

from espnet2_spiking.utils.quiet import import_espnet_quietly

import_espnet_quietly()

from espnet2_spiking.registry import register  # noqa: E402 (ESPnet imported quietly first)

register()
