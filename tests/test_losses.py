"""Loss terms against hand-computed values, recipes/presets, and the composed perceptual loss."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from imgperc import plugins
from imgperc.errors import ImgpercError, InputError
from imgperc.losses import (
    PRESETS,
    ContentTerm,
    LossNetwork,
    LossRecipe,
    LossTerm,
    NetworkDef,
    PerceptualLoss,
    StyleTerm,
    TermSpec,
    feature_reconstruction_loss,
    gram_matrix,
    pixel_loss,
    resolve_recipe,
    style_loss,
    total_variation,
)

# two channels of a 2x2 map: psi0 = [1,2,3,4], psi1 = [0,1,1,0]
FEATURES = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [1.0, 0.0]]]])


def test_gram_matrix_hand_computed():
    # psi0.psi0 = 30, psi0.psi1 = 2 + 3 = 5, psi1.psi1 = 2; divided by C*H*W = 8
    expected = torch.tensor([[[30.0, 5.0], [5.0, 2.0]]]) / 8
    assert torch.allclose(gram_matrix(FEATURES), expected)


def test_gram_matrix_is_per_image():
    batch = torch.cat([FEATURES, 2 * FEATURES])
    grams = gram_matrix(batch)
    assert grams.shape == (2, 2, 2)
    assert torch.allclose(grams[1], 4 * grams[0])


def test_feature_reconstruction_loss_hand_computed():
    # squared differences 1,4,9,16 and 0,1,1,0 -> 32, over C*H*W = 8
    assert feature_reconstruction_loss(FEATURES, torch.zeros_like(FEATURES)).item() == pytest.approx(4.0)


def test_losses_average_over_the_batch():
    a = torch.cat([FEATURES, torch.zeros_like(FEATURES)])
    assert feature_reconstruction_loss(a, torch.zeros_like(a)).item() == pytest.approx(2.0)
    assert pixel_loss(a, torch.zeros_like(a)).item() == pytest.approx(2.0)


def test_style_loss_is_squared_frobenius_norm():
    g = torch.tensor([[[1.0, 2.0], [2.0, 5.0]]])
    target = torch.tensor([[[0.0, 0.0], [0.0, 1.0]]])
    assert style_loss(g, target).item() == pytest.approx(1 + 4 + 4 + 16)
    # a single target broadcasts over a batch
    assert style_loss(torch.cat([g, target]), target).item() == pytest.approx(25 / 2)


def test_total_variation_hand_computed():
    image = torch.tensor([[[[0.0, 1.0], [3.0, 5.0]]]])
    # horizontal: (1-0)^2 + (5-3)^2 = 5; vertical: (3-0)^2 + (5-1)^2 = 25
    assert total_variation(image).item() == pytest.approx(30.0)
    assert total_variation(torch.full((2, 3, 4, 4), 0.3)).item() == 0.0


def test_pixel_loss_hand_computed():
    a = torch.tensor([[[[0.5, 0.0]]]])
    b = torch.tensor([[[[0.0, 1.0]]]])
    assert pixel_loss(a, b).item() == pytest.approx((0.25 + 1.0) / 2)


def test_terms_carry_their_weight():
    target = {"a": torch.zeros_like(FEATURES)}
    assert ContentTerm("a", 3.0)({"a": FEATURES}, target).item() == pytest.approx(12.0)
    term = StyleTerm("a", 2.0)
    term.set_target({"a": torch.zeros_like(FEATURES)})
    expected = 2.0 * (gram_matrix(FEATURES) ** 2).sum()
    assert term({"a": FEATURES}).item() == pytest.approx(expected.item())
    assert term.name == "style:a"


# ---------------------------------------------------------------- a tiny loss network


class CountingNet(LossNetwork):
    calls = 0

    def forward(self, x):
        CountingNet.calls += 1
        return super().forward(x)


def _tiny_loader(taps):
    torch.manual_seed(0)
    layers = [("conv1", nn.Conv2d(3, 4, 3, padding=1)), ("relu1", nn.ReLU()), ("conv2", nn.Conv2d(4, 6, 3, padding=1)), ("relu2", nn.ReLU())]
    names = [n for n, _ in layers]
    deepest = max(names.index(t) for t in taps)
    return CountingNet("tiny", nn.Identity(), layers[: deepest + 1], taps)


TINY = NetworkDef("tiny", "test net", ("conv1", "relu1", "conv2", "relu2"), _tiny_loader)


@pytest.fixture
def tiny():
    plugins.registry("loss_networks").add("tiny", TINY, "tests")
    CountingNet.calls = 0
    return TINY


def _recipe(**kw):
    base = dict(network="tiny", content_layers={"relu2": 1.0}, style_layers={"relu1": 1.0, "relu2": 0.5}, style_weight=10.0, tv_weight=0.1)
    base.update(kw)
    return LossRecipe(**base)


def test_perceptual_loss_reports_every_weighted_term(tiny):
    loss = PerceptualLoss(_recipe())
    content, style = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    loss.set_content(content)
    loss.set_style(style)
    output = torch.rand(1, 3, 8, 8)
    report = loss(output)
    assert set(report.terms) == {"content:relu2", "style:relu1", "style:relu2", "tv"}
    net = loss.network
    f, fc, fs = net(output), net(content), net(style)
    assert report.terms["content:relu2"].item() == pytest.approx(feature_reconstruction_loss(f["relu2"], fc["relu2"]).item(), rel=1e-5)
    expected_style = 10.0 * style_loss(gram_matrix(f["relu1"]), gram_matrix(fs["relu1"]))
    assert report.terms["style:relu1"].item() == pytest.approx(expected_style.item(), rel=1e-5)
    expected_style2 = 5.0 * style_loss(gram_matrix(f["relu2"]), gram_matrix(fs["relu2"]))
    assert report.terms["style:relu2"].item() == pytest.approx(expected_style2.item(), rel=1e-5)
    assert report.terms["tv"].item() == pytest.approx(0.1 * total_variation(output).item(), rel=1e-5)
    values = report.values()
    assert values["total"] == pytest.approx(sum(v for k, v in values.items() if k != "total"), rel=1e-5)
    assert report.grouped()["style"] == pytest.approx(values["style:relu1"] + values["style:relu2"], rel=1e-5)


def test_one_network_pass_per_call_and_style_grams_computed_once(tiny):
    loss = PerceptualLoss(_recipe())
    loss.set_style(torch.rand(1, 3, 8, 8))
    loss.set_content(torch.rand(1, 3, 8, 8))
    CountingNet.calls = 0
    for _ in range(3):
        loss(torch.rand(2, 3, 8, 8))
    assert CountingNet.calls == 3  # one pass per call feeds content and both style terms
    loss(torch.rand(2, 3, 8, 8), content=torch.rand(2, 3, 8, 8))
    assert CountingNet.calls == 5  # a per-call content target takes one more (no-grad) pass


def test_gradients_reach_the_image_not_the_network(tiny):
    loss = PerceptualLoss(_recipe())
    loss.set_style(torch.rand(1, 3, 8, 8))
    loss.set_content(torch.rand(1, 3, 8, 8))
    image = torch.rand(1, 3, 8, 8, requires_grad=True)
    loss(image).total.backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.network.parameters())


def test_zero_weight_terms_are_not_built_and_their_layers_not_loaded(tiny):
    loss = PerceptualLoss(_recipe(style_weight=0.0, content_layers={"relu1": 1.0}))
    assert loss.recipe.layers == ("relu1",)
    assert list(loss.network.layers) == ["conv1", "relu1"]  # truncated after the deepest needed tap
    loss.set_content(torch.rand(1, 3, 8, 8))
    assert set(loss(torch.rand(1, 3, 8, 8)).terms) == {"content:relu1", "tv"}


def _old_perceptual_terms(recipe, network, output, content, style):
    """`PerceptualLoss` as it computed a recipe's four standard terms before terms became registered classes."""
    features, target, fs = network(output), network(content), network(style)
    terms = {}
    for layer, w in recipe.content_layers.items():
        if recipe.content_weight and w:
            terms[f"content:{layer}"] = recipe.content_weight * w * feature_reconstruction_loss(features[layer], target[layer])
    for layer, w in recipe.style_layers.items():
        if recipe.style_weight and w:
            terms[f"style:{layer}"] = recipe.style_weight * w * style_loss(gram_matrix(features[layer]), gram_matrix(fs[layer]))
    if recipe.tv_weight:
        terms["tv"] = recipe.tv_weight * total_variation(output)
    if recipe.pixel_weight:
        terms["pixel"] = recipe.pixel_weight * pixel_loss(output, content, recipe.pixel_norm)
    return terms


@pytest.mark.parametrize("changes", [{}, {"pixel_weight": 0.7, "pixel_norm": "l1", "content_layers": {"conv2": 2.0, "relu1": 0.5}},
                                     {"style_weight": 0.0, "pixel_weight": 3.0, "tv_weight": 0.0}])
def test_standard_terms_keep_their_numbers(tiny, changes):
    recipe = _recipe(**changes)
    loss = PerceptualLoss(recipe)
    torch.manual_seed(6)
    output, content, style = torch.rand(2, 3, 10, 12), torch.rand(2, 3, 10, 12), torch.rand(1, 3, 9, 11)
    loss.set_style(style)
    report = loss(output, content=content)
    old = _old_perceptual_terms(recipe, loss.network, output, content, style)
    assert list(report.terms) == list(old)
    assert report.values() == pytest.approx({"total": float(torch.stack(list(old.values())).sum()), **{k: float(v) for k, v in old.items()}}, rel=1e-6)


def test_pixel_only_recipe_needs_no_network():
    loss = PerceptualLoss(resolve_recipe("sr-pixel"))
    assert loss.network is None
    a, b = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    assert loss(a, content=b).values() == {"total": 1.0, "pixel": 1.0}


def test_recipe_round_trips_through_a_dict():
    recipe = resolve_recipe("vgg19-relu3", style_weight=7.0)
    data = recipe.to_dict()
    assert data["network"] == "vgg19" and data["style_weight"] == 7.0
    assert LossRecipe.from_dict(data) == recipe
    with pytest.raises(InputError, match="unknown fields"):
        LossRecipe.from_dict({**data, "bogus": 1})


def test_presets_use_the_papers_layers():
    paper = resolve_recipe("paper")
    assert paper.network == "vgg16"
    assert list(paper.content_layers) == ["relu2_2"]
    assert list(paper.style_layers) == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    here = resolve_recipe("vgg19-relu3")
    assert here.network == "vgg19" and max(here.layers) <= "relu3_4"
    assert resolve_recipe("sr-feat").layers == ("relu2_2",)
    assert resolve_recipe() == paper  # the default
    assert resolve_recipe(network="vgg19") == here  # the network's own preset
    assert set(PRESETS) <= set(plugins.registry("loss_recipes"))


def test_resolve_recipe_network_override_and_errors():
    assert resolve_recipe("sr-feat", network="vgg19").network == "vgg19"
    assert resolve_recipe("paper", network="vgg19").layers[-1] == "relu4_3"  # VGG-19 has that tap too
    with pytest.raises(InputError, match="'vgg16' has no layer relu3_4"):
        resolve_recipe("vgg19-relu3", network="vgg16")
    with pytest.raises(InputError, match="uses no loss network"):
        resolve_recipe("sr-pixel", network="vgg19")
    with pytest.raises(ImgpercError, match="unknown loss recipes 'nope'"):
        resolve_recipe("nope")
    with pytest.raises(ImgpercError, match="unknown loss networks 'nope'"):
        resolve_recipe(network="nope")
    with pytest.raises(InputError, match="must be a finite number >= 0"):
        resolve_recipe("paper", style_weight=-1.0)
    with pytest.raises(InputError, match="every term has weight 0"):
        resolve_recipe("sr-pixel", pixel_weight=0.0)


# ---------------------------------------------------------------- term kinds: a registry of small classes


class MeanTerm(LossTerm):
    """A plugin's kind: squared difference of the per-image means."""

    kind = "mean"

    def encode(self, x):
        return x.mean((1, 2, 3))

    def score(self, input, target):
        return (input - target).pow(2).mean()


@pytest.fixture
def mean_kind(tiny):
    plugins.registry("loss_terms").add("mean", MeanTerm, "tests")


def test_a_registered_kind_joins_a_recipe_with_its_own_targets(mean_kind):
    recipe = _recipe(terms=(TermSpec("mean", 2.0, {"relu1": 1.0, "conv2": 0.0, "relu2": 3.0}, target="teacher", label="m"),
                            TermSpec("mean", 5.0, target="content")))
    assert recipe.layers == ("relu2", "relu1")  # content, style, then the terms' taps (a 0 multiplier reads none)
    loss = PerceptualLoss(recipe)
    torch.manual_seed(7)
    output, content, style, teacher = (torch.rand(2, 3, 8, 8) for _ in range(4))
    loss.set_style(style[:1])
    CountingNet.calls = 0
    report = loss(output, content=content, teacher=teacher)
    assert CountingNet.calls == 3  # the output, the content and the teacher: one pass each
    f, ft = loss.network(output), loss.network(teacher)
    assert list(report.terms) == ["content:relu2", "style:relu1", "style:relu2", "tv", "m:relu1", "m:relu2", "mean"]
    assert report.terms["m:relu1"].item() == pytest.approx(2.0 * (f["relu1"].mean((1, 2, 3)) - ft["relu1"].mean((1, 2, 3))).pow(2).mean().item())
    assert report.terms["m:relu2"].item() == pytest.approx(6.0 * (f["relu2"].mean((1, 2, 3)) - ft["relu2"].mean((1, 2, 3))).pow(2).mean().item())
    assert report.terms["mean"].item() == pytest.approx(5.0 * (output.mean((1, 2, 3)) - content.mean((1, 2, 3))).pow(2).mean().item())
    with pytest.raises(RuntimeError, match=r"no teacher target: pass teacher=\.\.\. or call set_target\('teacher', \.\.\.\) first"):
        loss(output, content=content)
    loss.set_target("teacher", teacher[:1])  # fixed once: a target of one image broadcasts
    assert loss(output, content=content).terms["mean"] == report.terms["mean"]
    assert LossRecipe.from_dict(json.loads(recipe.to_json())) == recipe


def test_terms_are_stored_only_when_used_and_checked_like_the_rest(mean_kind):
    assert "terms" not in resolve_recipe("paper").to_dict()  # runs from before `terms` existed still resume
    with pytest.raises(InputError, match="unknown loss term kind 'nope' \\(known: content, likeness, mean, pixel, style, tv\\)"):
        _recipe(terms=(TermSpec("nope", 1.0),)).validate()
    with pytest.raises(InputError, match="'tiny' has no layer relu9"):
        _recipe(terms=(TermSpec("mean", 1.0, {"relu9": 1.0}, target="content"),)).validate()
    with pytest.raises(InputError, match="m weight must be a finite number >= 0, got -1.0"):
        _recipe(terms=(TermSpec("mean", -1.0, target="content", label="m"),)).validate()
    only = LossRecipe(network=None, content_weight=0.0, style_weight=0.0, terms=(TermSpec("mean", 0.0, target="content"),))
    with pytest.raises(InputError, match="every term has weight 0"):
        only.validate()
    with pytest.raises(InputError, match="pixel norm must be one of l2, l1, got 'l3'"):
        PerceptualLoss(_recipe(terms=(TermSpec("pixel", 1.0, target="content", options={"norm": "l3"}),)))
    with pytest.raises(InputError, match="more than one term is named style:relu1 \\(give one another label\\)"):
        PerceptualLoss(_recipe(terms=(TermSpec("style", 1.0, {"relu1": 1.0}, target="painting"),)))
    with pytest.raises(InputError, match="loss term has unknown fields: bogus"):
        LossRecipe.from_dict({**_recipe().to_dict(), "terms": [{"kind": "mean", "bogus": 1}]})


def test_the_registry_takes_only_term_classes_named_by_their_kind():
    kinds = plugins.registry("loss_terms")
    assert {"content", "style", "tv", "pixel"} <= set(kinds) and kinds.get("style") is StyleTerm
    with pytest.raises(ImgpercError, match="loss term 'half' from plugin 'tests' must be a subclass of imgperc.losses.LossTerm, not function"):
        kinds.add("half", lambda x: x / 2, "tests")
    with pytest.raises(ImgpercError, match="loss term 'avg' from plugin 'tests' is registered as 'avg' but its kind is 'mean'"):
        kinds.add("avg", MeanTerm, "tests")
