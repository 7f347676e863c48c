"""Temporal Shift Module along the SNN time axis, as the reference Spiking Vocos shifts.

The channels are cut into ``channel_folding_factor`` equal groups; the first
``factor // 4`` groups and the next ``factor // 2 - factor // 4`` groups move one SNN time
step, in opposite directions, and the rest stay where they are. With the reference's
factor 32 that is a quarter, a quarter and a half of the channels.

The direction is the reference's by default (``vocos/spiking_modelsv3_TSM*.py``: step t of
the first group receives step t + 1, of the second group step t - 1). ``"mirrored"`` is the
opposite, the direction this plugin used before it followed the reference: a checkpoint
trained with it decodes correctly only with ``tsm_direction: mirrored`` (the two are
equally good to train, but not interchangeable once trained).
"""

import torch

DIRECTIONS = ("reference", "mirrored")


def channel_groups(channels: int, folding_factor: int) -> tuple:
    """The channel boundaries ``(c1, c2)`` of the two shifted groups ``[0, c1)`` and ``[c1, c2)``.

    The reference cuts ``channels`` into ``folding_factor`` groups of ``channels / factor``
    and refuses channels it does not divide; here the boundaries are the same fractions of
    the channels, rounded down: ``c1 = channels * (factor // 4) // factor`` and
    ``c2 = channels * (factor // 2) // factor``, which equal the reference's wherever it runs.
    """
    return channels * (folding_factor // 4) // folding_factor, channels * (folding_factor // 2) // folding_factor


def temporal_shift(u: torch.Tensor, folding_factor: int = 32, direction: str = "reference") -> torch.Tensor:
    """Shift two channel groups one SNN time step, in opposite directions, with zero fill.

    Frames and batch items are never mixed. With a single time step there is nothing to
    shift and ``u`` is returned as it is (the reference's rule; the zero fill would
    otherwise blank both groups).

    Args:
        u: (T, B, C, L).
        folding_factor: Channel groups (see :func:`channel_groups`).
        direction: ``"reference"``: step t of channels ``[0, c1)`` receives step t + 1, of
            ``[c1, c2)`` step t - 1; ``"mirrored"``: the other way round.

    Returns:
        Shifted tensor (T, B, C, L).
    """
    if u.size(0) < 2:
        return u
    c1, c2 = channel_groups(u.size(2), folding_factor)
    first, second = slice(0, c1), slice(c1, c2)
    from_next, from_previous = (first, second) if direction == "reference" else (second, first)
    out = torch.zeros_like(u)
    out[:-1, :, from_next] = u[1:, :, from_next]
    out[1:, :, from_previous] = u[:-1, :, from_previous]
    out[:, :, c2:] = u[:, :, c2:]
    return out


class TemporalShift(torch.nn.Module):
    """``x = u + alpha * shift(u)`` with a learnable scalar ``alpha`` (the reference's
    ``x_in = alpha * shift(u) + u``, with its ``tsm_penalty_factor`` as ``alpha_init``).

    Args:
        alpha_init: Initial value of ``alpha``.
        folding_factor: The reference's ``channel_folding_factor`` (see :func:`channel_groups`).
        direction: ``"reference"`` or ``"mirrored"`` (see :func:`temporal_shift`).
    """

    def __init__(self, alpha_init: float = 0.5, folding_factor: int = 32, direction: str = "reference"):
        super().__init__()
        if direction not in DIRECTIONS:
            raise ValueError(f"tsm_direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}.")
        if folding_factor < 1:
            raise ValueError(f"tsm_channel_folding_factor must be a positive number of groups, got {folding_factor}.")
        self.alpha = torch.nn.Parameter(torch.tensor(float(alpha_init)))
        self.folding_factor = folding_factor
        self.direction = direction

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Args: u: (T, B, C, L). Returns: (T, B, C, L)."""
        return u + self.alpha * temporal_shift(u, self.folding_factor, self.direction)
