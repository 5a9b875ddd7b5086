"""The Gatys et al. optimisation baseline as Johnson et al. ran it (their Equation 5).

``y_hat = argmin_y  l_c * l_feat(y, y_c) + l_s * l_style(y, y_s) + l_tv * l_tv(y)``, minimised
over the image itself with projected L-BFGS (clipped to [0,1], i.e. [0,255], after every
iteration) or Adam (also clipped). The objective is the :class:`~imgperc.losses.PerceptualLoss`
of a recipe; :func:`optimize` reports it (with every term) for the image after each iteration.
Light to import (torch loads when an image is made), so `imgperc gatys --help` offers its
choices without it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from imgperc.errors import InputError

if TYPE_CHECKING:
    import torch

    from imgperc.losses import PerceptualLoss

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("noise", "content")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
NOISE_MEAN, NOISE_STD = 0.5, 0.05


@dataclass
class Step:
    """The objective after ``iteration`` iterations (0 = the initial image)."""

    iteration: int
    seconds: float  # since the optimisation started
    values: dict[str, float]  # "total" and every weighted term
    image: torch.Tensor = field(repr=False)  # [1,3,H,W] in [0,1]


def initial_image(content: torch.Tensor, init: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """``content``: the content image itself; ``noise``: Gaussian white noise around mid-gray.

    The noise is faint (std 0.05 around 0.5, clipped to [0,1]), like the reference
    implementation's N(0,1) in Caffe's 0-255 space; strong noise (uniform in [0,1]) still
    showed speckles after 100 L-BFGS iterations here.
    """
    import torch

    if init == "content":
        return content.clone()
    if init == "noise":
        noise = torch.randn(content.shape, generator=generator, dtype=content.dtype)
        return (NOISE_MEAN + NOISE_STD * noise).clamp_(0, 1).to(content.device)
    raise InputError(f"unknown init '{init}' (choose from {', '.join(INITS)})")


def optimize(
    loss: PerceptualLoss,
    start: torch.Tensor,
    iterations: int,
    *,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> torch.Tensor:
    """Minimise ``loss`` over the image from ``start``; returns the final image in [0,1].

    ``on_step`` sees the objective of the image after 0, 1, ..., ``iterations`` iterations.
    """
    import torch

    from .lbfgs import ProjectedLBFGS

    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown optimizer '{optimizer}' (choose from {', '.join(OPTIMIZERS)})")
    if iterations < 1:
        raise InputError(f"iterations must be at least 1 (got {iterations})")
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    began = time.perf_counter()

    def report(i: int, x: torch.Tensor, values: dict[str, float]) -> None:
        if on_step is not None:
            on_step(Step(i, time.perf_counter() - began, values, x.detach()))

    if optimizer == "lbfgs":
        values: dict[str, float] = {}

        def objective(y: torch.Tensor) -> torch.Tensor:
            result = loss(y)
            values.update(result.values())
            return result.total

        solver = ProjectedLBFGS(start, objective, lr=lr)
        accepted = dict(values)
        report(0, solver.x, accepted)
        for i in range(1, iterations + 1):
            before = solver.x
            solver.step()
            if solver.x is not before:  # a new iterate: the last evaluation was it
                accepted = dict(values)
            report(i, solver.x, accepted)  # a failed line search keeps the iterate and its terms
        return solver.x
    x = start.detach().clone().clamp_(0, 1).requires_grad_(True)
    adam = torch.optim.Adam([x], lr=lr)
    for i in range(iterations):
        adam.zero_grad()
        result = loss(x)
        result.total.backward()
        report(i, x, result.values())
        adam.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    x = x.detach()
    with torch.no_grad():
        report(iterations, x, loss(x).values())
    return x
