"""``--denoise D``: one net between a strong denoiser and its weak partner (Real-ESRGAN's ``-dn``).

A real-world model (``x4-real``, fine-tuned from ``x4-fidelity`` on degraded inputs) removes
noise and JPEG blocks, and some fine detail with them; its partner, named in its metadata's
``denoise_pair`` (`.models.DENOISE_PAIR`), has the same architecture and keeps the detail (and
the noise). ``D`` interpolates every weight linearly: ``D = 1`` is the strong net, ``D = 0`` the
weak one, exactly (``torch.lerp`` is exact at both ends), and values between trade noise
removal against detail.
"""

from __future__ import annotations

import torch
from torch import nn

from imgperc.errors import InputError
from imgperc.hub import ResolvedModel, resolve_model

from .models import DENOISE_PAIR, LABEL, TASK, model_scale


def denoise_partner(model: ResolvedModel) -> ResolvedModel:
    """The weak net ``model``'s metadata names (a model name or file), of the same scale."""
    partner = resolve_model(str(model.meta[DENOISE_PAIR]), TASK, label=LABEL)
    if model_scale(partner.meta) != model_scale(model.meta):
        raise InputError(f"model '{model.name}' is x{model_scale(model.meta)} but its denoise pair '{partner.name}' "
                         f"is x{model_scale(partner.meta)}")
    return partner


def blended_net(model: ResolvedModel, strength: float) -> nn.Module:
    """``model``'s net with weights ``strength`` of the way from its denoise partner's to its own."""
    strong = model.load()
    weak = denoise_partner(model).load()
    shape = lambda loaded: (loaded.meta.get("architecture"), loaded.meta.get("config"))  # noqa: E731
    ours, theirs = strong.net.state_dict(), weak.net.state_dict()
    if shape(strong) != shape(weak) or {k: v.shape for k, v in ours.items()} != {k: v.shape for k, v in theirs.items()}:
        raise InputError(f"model '{model.name}' and its denoise pair '{weak.name}' are different nets "
                         f"({shape(strong)[0]} against {shape(weak)[0]}, or another configuration)")
    blended = {name: torch.lerp(theirs[name].to(value.dtype), value, strength) if value.is_floating_point() else value
               for name, value in ours.items()}
    strong.net.load_state_dict(blended)
    return strong.net
