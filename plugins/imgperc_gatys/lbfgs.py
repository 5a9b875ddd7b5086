"""Projected L-BFGS on one image tensor: the box constraint is enforced at every iteration.

Each iteration takes the L-BFGS direction (two-loop recursion over the last ``history``
curvature pairs), moves with step length ``lr`` and clips the image back into
``[low, high]``. Pixels that sit on a bound with the gradient pushing them outward are held
fixed for that iteration, so the quasi-Newton step works on the free pixels. The new point is
accepted when the objective decreased enough (Armijo condition along the projected step);
otherwise the step is halved, so the objective never rises. Almost every iteration is
accepted at once: one objective + gradient evaluation per iteration. The curvature pair uses
the step actually taken (after clipping). The first step (and any restart) is steepest descent
moving the largest pixel by ``first_step``; torch's ``1/|g|_1`` rule would move [0,1] pixels by
less than float32 resolution when the objective is large.
"""

from __future__ import annotations

from typing import Callable

import torch

Objective = Callable[[torch.Tensor], torch.Tensor]
ARMIJO = 1e-4
MAX_HALVINGS = 10


class ProjectedLBFGS:
    """Minimise ``objective(x)`` over ``x`` in a box; ``loss`` is always the value at ``x``."""

    def __init__(
        self,
        x: torch.Tensor,
        objective: Objective,
        *,
        lr: float = 1.0,
        history: int = 100,
        first_step: float = 0.01,
        low: float = 0.0,
        high: float = 1.0,
    ) -> None:
        self.objective = objective
        self.lr, self.history, self.first_step, self.low, self.high = lr, history, first_step, low, high
        self.pairs: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (s, y, 1 / y.s)
        self.h_diag = 1.0
        self.evaluations = 0
        self.converged = False  # not even a short steepest-descent step lowers the objective
        self.x = x.detach().clone().clamp_(low, high)
        self.loss, self.grad = self._evaluate(self.x)

    def _evaluate(self, x: torch.Tensor) -> tuple[float, torch.Tensor]:
        self.evaluations += 1
        x = x.detach().requires_grad_(True)
        loss = self.objective(x)
        (grad,) = torch.autograd.grad(loss, x)
        return float(loss.detach()), grad.reshape(-1)

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        q = -g
        alphas = []
        for s, y, rho in reversed(self.pairs):
            alpha = rho * float(s.dot(q))
            q = q - alpha * y
            alphas.append(alpha)
        r = q * self.h_diag
        for (s, y, rho), alpha in zip(self.pairs, reversed(alphas)):
            beta = rho * float(y.dot(r))
            r = r + (alpha - beta) * s
        return r

    def step(self) -> float:
        """One iteration; returns the objective at the (new) iterate."""
        if self.converged:
            return self.loss
        g = self.grad
        flat = self.x.reshape(-1)
        # pixels held at a bound by the gradient stay fixed this iteration (active set)
        free = ~(((flat <= self.low) & (g > 0)) | ((flat >= self.high) & (g < 0)))
        g_free = g * free
        d = self._direction(g_free) * free if self.pairs else -g_free
        restart = not self.pairs or float(g_free.dot(d)) >= 0  # first step, or no descent
        if restart:
            self.pairs.clear()
            self.h_diag = 1.0
            d = -g_free
            t = self.first_step / max(float(g_free.abs().max()), 1e-30)
        else:
            t = self.lr
        for _ in range(MAX_HALVINGS):
            candidate = (flat + t * d).clamp_(self.low, self.high)
            loss, grad = self._evaluate(candidate.view_as(self.x))
            if loss < self.loss + ARMIJO * float(g.dot(candidate - flat)):
                break
            t *= 0.5
        else:  # no decrease: restart from steepest descent, or stop if that failed too
            self.converged = restart
            self.pairs.clear()
            return self.loss
        s, y = candidate - flat, grad - g
        ys = float(y.dot(s))
        if ys > 1e-10:
            if len(self.pairs) == self.history:
                self.pairs.pop(0)
            self.pairs.append((s, y, 1.0 / ys))
            self.h_diag = ys / float(y.dot(y))
        self.x, self.loss, self.grad = candidate.view_as(self.x), loss, grad
        return loss
