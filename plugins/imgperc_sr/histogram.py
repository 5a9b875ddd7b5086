"""Histogram matching, the paper's post-processing of super-resolved outputs.

Each channel of the output is mapped through a monotone function so that its value
distribution becomes that of the same channel of the low-resolution input: an output value at
quantile q becomes the input's value at quantile q (linearly interpolated). Equal output values
stay equal, and the ordering of values (hence edges and texture) is kept.
"""

from __future__ import annotations

import torch


def _quantiles(sorted_values: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Where each of ``values`` sits in ``sorted_values``, as a fraction in [0, 1] (ties: middle)."""
    first = torch.searchsorted(sorted_values, values, side="left")
    last = torch.searchsorted(sorted_values, values, side="right") - 1
    return (first + last).to(torch.float64) / (2 * max(sorted_values.numel() - 1, 1))


def _value_at(sorted_values: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """The value of the distribution ``sorted_values`` at each quantile (linear interpolation)."""
    position = quantiles * (sorted_values.numel() - 1)
    below = position.floor().long().clamp(0, sorted_values.numel() - 1)
    above = (below + 1).clamp(max=sorted_values.numel() - 1)
    frac = (position - below).to(sorted_values.dtype)
    return sorted_values[below] * (1 - frac) + sorted_values[above] * frac


def match_channel(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``source`` (any shape) remapped to the value distribution of ``reference`` (any size)."""
    flat = source.reshape(-1)
    sorted_source = flat.sort().values
    sorted_reference = reference.reshape(-1).sort().values.to(source.dtype)
    return _value_at(sorted_reference, _quantiles(sorted_source, flat)).reshape(source.shape)


def match_histograms(output: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``[N, C, H, W]`` outputs, each channel matched to that of ``reference`` ``[N, C, h, w]``."""
    if output.shape[:2] != reference.shape[:2]:
        raise ValueError(f"cannot match {tuple(output.shape)} to {tuple(reference.shape)}: batch or channels differ")
    matched = torch.empty_like(output)
    for n in range(output.shape[0]):
        for c in range(output.shape[1]):
            matched[n, c] = match_channel(output[n, c], reference[n, c].to(output.device))
    return matched
