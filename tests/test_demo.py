"""The demo's closing paragraph on facts the bundled data do not produce."""

from fairuse_estimators._demo import demo_story


def _facts(harmed=(), gains=(), undetectable=(), smallest_detectable=0.05):
    return {
        "metric": "error",
        "higher_is_better": False,
        "alpha": 0.1,
        "sizes": {"a": 400, "b": 300},
        "harmed": list(harmed),
        "gains": list(gains),
        "undetectable": list(undetectable),
        "smallest_detectable": smallest_detectable,
    }


def _harm(group, route, routed_gain, significant=False):
    return {
        "group": group, "variant": "decoupled", "risk_generic": 0.2,
        "risk_variant": 0.25, "loss": 0.05, "significant": significant,
        "route": route, "routed_gain": routed_gain,
    }  # fmt: skip


def _story(facts):
    return " ".join(demo_story(facts).split())


def test_demo_story_says_when_the_routed_model_does_not_protect_a_group():
    """Check that a group the routed model itself makes worse off is named as
    not protected, and one routed to another variant as protected by it."""
    text = _story(_facts([_harm("a", "onehot", 0.01), _harm("b", "decoupled", -0.05)]))
    assert "The routed model protects (a): it routes (a) to onehot, with a gain" in text
    assert "The routed model does not protect (b) on these rows" in text
    assert "it loses 0.050" in text


def test_demo_story_names_significant_losses():
    """Check that a significant loss is called significant, by group."""
    harmed = [_harm("a", "generic", 0.0, significant=True), _harm("b", "generic", 0.0)]
    text = _story(_facts(harmed))
    assert "The loss is significant for (a) at alpha=0.1." in text
    assert "it keeps them on the generic model, so they lose nothing" in text


def test_demo_story_without_harm_or_gain_on_well_powered_groups():
    """Check that with no harm, no gain and tests with power, the paragraph
    says that no gain was found rather than blaming the group sizes."""
    text = _story(_facts())
    assert "no personalized variant makes any group worse off" in text
    assert "No group gains significantly, although the held-out groups have 300" in text
    assert "a gain of 0.050" in text and "too few" not in text
