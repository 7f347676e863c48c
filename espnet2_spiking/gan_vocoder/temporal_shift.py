"""Temporal Shift Module along the SNN time axis."""

import torch


def temporal_shift(u: torch.Tensor) -> torch.Tensor:
    """Shift channel groups one SNN time step, with zero fill at the ends.

    The first quarter of the channels moves one step forward in time (step t receives
    step t - 1), the second quarter one step back (step t receives step t + 1), and the
    remaining half is left as it is. Frames are never mixed.

    Args:
        u: (T, B, C, L).

    Returns:
        Shifted tensor (T, B, C, L).
    """
    fold = u.size(2) // 4
    out = torch.zeros_like(u)
    out[1:, :, :fold] = u[:-1, :, :fold]
    out[:-1, :, fold : 2 * fold] = u[1:, :, fold : 2 * fold]
    out[:, :, 2 * fold :] = u[:, :, 2 * fold :]
    return out


class TemporalShift(torch.nn.Module):
    """``x = u + alpha * shift(u)`` with a learnable scalar ``alpha``.

    Args:
        alpha_init: Initial value of ``alpha``.
    """

    def __init__(self, alpha_init: float = 0.5):
        super().__init__()
        self.alpha = torch.nn.Parameter(torch.tensor(float(alpha_init)))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Args: u: (T, B, C, L). Returns: (T, B, C, L)."""
        return u + self.alpha * temporal_shift(u)
