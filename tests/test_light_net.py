"""The ``light`` style net: layout, cost against ml5, conventions shared with the other style nets."""

from __future__ import annotations

import pytest
import torch

from imgperc import plugins
from imgperc.errors import ConfigError
from imgperc.inference import run_net
from imgperc.inference.bench import net_gflop
from imgperc.io import read_image
from imgperc.modelfile import build_model, save_model_file
from imgperc_style.light import LightNet, light

from conftest import DATA_DIR
from tiny_nets import check_style_net_conventions


def test_registered_with_bounded_config():
    assert plugins.registry("transform_nets").get("light") is light
    assert plugins.registry("transform_nets").owners["light"] == "style"
    with pytest.raises(ConfigError, match="width must be between 2 and 256"):
        light(width=1)
    with pytest.raises(ConfigError, match="unknown config key 'channels'"):
        light(channels=8)


def test_default_layout_works_below_full_resolution():
    net = LightNet()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [tuple(c.weight.shape) for c in convs] == [(24, 12, 3, 3), (48, 24, 3, 3), *[(48, 48, 3, 3)] * 6, (24, 48, 3, 3), (12, 24, 3, 3)]
    assert [c.stride for c in convs[:2]] == [(1, 1), (2, 2)]
    assert sum(isinstance(m, torch.nn.InstanceNorm2d) for m in net.modules()) == len(convs) - 1


def test_a_tenth_of_ml5s_flops_at_512():
    padded = (1, 3, 608, 608)  # a 512 image with the ml5 nets' reflection pad (48 a side)
    ml5 = net_gflop(plugins.registry("transform_nets").get("ml5")(), padded)
    cost = net_gflop(light(), padded)
    assert cost <= ml5 / 10 and net_gflop(light(), (1, 3, 512, 512)) <= 9.0


def test_same_conventions_as_the_other_style_nets():
    net = LightNet(width=4, depth=1)
    check_style_net_conventions(net)
    odd = torch.rand(1, 3, 13, 7)
    assert run_net(net.eval(), odd).shape == odd.shape  # padded to multiples of 4, cropped back


@pytest.mark.needs_shared("data")
def test_roundtrip_through_a_model_file(tmp_path):
    torch.manual_seed(0)
    net = LightNet(width=4, depth=2).eval()
    path = tmp_path / "light.safetensors"
    save_model_file(path, net.state_dict(), {"architecture": "light", "config": {"width": 4, "depth": 2}, "task": "style"})
    rebuilt, _ = build_model(path)
    x = read_image(DATA_DIR / "content" / "chicago.jpg").pixels[None, :, 40:120, 60:160].contiguous()
    assert torch.equal(run_net(rebuilt, x), run_net(net, x))
