"""The page picks the device a model trains faster on (pykernel.playground.choose_device),
says which and why, writes it into the generated code, and lets the user override it.

In headless Chromium the WebGPU adapter is SwiftShader (software): the 2-8-8-1 playground net
trains on the CPU there (pure Python, ~2.5 ms a step, against WebGPU's ~16 ms), an MNIST MLP on
WebGPU. One page for the module; the tests run in file order.
"""
import re

import pytest

from conftest import ARTIFACTS
from test_playground import app, click_and_wait, use_mnist

pytestmark = pytest.mark.xdist_group("browser")


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"device_choice_{name}.png"), full_page=True)


def use_circle(page, epochs=3, batch_size=16):
    page.click("#dataset-circle")
    page.click("#default-layers")
    page.fill("#points-samples", "200")
    page.fill("#points-noise", "0")
    page.fill("#epochs", str(epochs))
    page.fill("#batch-size", str(batch_size))
    if page.is_enabled("#reset-code"):
        page.click("#reset-code")


def weights_device(page):
    page.fill("#code", "model.weights[0].device")
    run = click_and_wait(page, "#run-code")
    assert run["ok"], app(page, "lastError")
    device = app(page, "lastResult")
    page.click("#reset-code")
    return device


def test_auto_times_the_tiny_model_and_trains_on_the_faster_device(playground):
    page = playground
    assert app(page, "adapter")
    select = page.get_by_label("Device")            # labelled for assistive technology
    assert select.input_value() == "auto"
    assert select.get_attribute("aria-describedby") == "device-note"
    use_circle(page)
    note = page.inner_text("#device-note")
    assert note.startswith("Auto: Train first times this model on the CPU and on WebGPU")
    code = page.input_value("#code")
    assert "# Device: Auto." in code and "set_device" not in code

    page.evaluate("""() => {   // every status line of the run, as the status bar shows it
        window.__statusLines = [];
        const text = document.getElementById("status-text");
        new MutationObserver(() => window.__statusLines.push(text.textContent))
            .observe(text, {childList: true, characterData: true, subtree: true});
    }""")
    run = click_and_wait(page, "#train")
    assert run["ok"] is True, app(page, "lastError")
    choice = app(page, "deviceChoice")
    print("device choice:", choice)
    assert choice["setting"] == "auto" and choice["timed"] is True
    ms = choice["ms"]
    assert ms["cpu"] > 0
    if choice["rule"] == "software":            # SwiftShader: WebGPU was not worth timing
        assert choice["device"] == "cpu" and ms["webgpu"] is None
        assert ms["cpu"] < page.evaluate("""() => window.pykernelApp.python.run(
            "import pykernel.playground as p\\np.SOFTWARE_WEBGPU_MIN_STEP_MS")""")
    else:
        assert choice["rule"] == "measured" and ms["webgpu"] > 0
        assert choice["device"] == min(ms, key=ms.get)
    device = choice["device"]
    label = {"cpu": "the CPU", "webgpu": "WebGPU"}[device]

    # said on the page, with the figures, and written into the code that ran
    note = page.inner_text("#device-note")
    assert note.startswith(f"Training on {label}: ") and f"{ms['cpu']:.1f} ms/step on the CPU" in note
    assert page.inner_text("[data-testid=device-line]").strip() == f"Device: {note}"
    where = "the CPU" if device == "cpu" else f"WebGPU on {app(page, 'adapter')}"
    lines = page.evaluate("window.__statusLines")
    assert lines[0] == "Training…" and f"Training on {where}…" in lines and lines[-1].startswith("Ready: "), lines
    code = page.input_value("#code")
    assert code == app(page, "lastCode") == app(page, "generatedCode()")   # Train ran the code shown
    line = re.search(r'^tf\.config\.set_device\("(\w+)"\)  # Auto: (.*)$', code, re.M)
    assert line and line.group(1) == device and f"{ms[device]:.1f} ms/step" in line.group(2), code
    assert len(app(page, "history.epochs")) == 3 and app(page, "testAccuracy") is not None
    assert weights_device(page) == {"cpu": "CPU:0", "webgpu": "WebGPU:0"}[device]
    shot(page, "auto")

    # the same model again: the timing is reused, not repeated
    page.fill("#epochs", "1")
    run = click_and_wait(page, "#train")
    assert run["ok"] is True, app(page, "lastError")
    again = app(page, "deviceChoice")
    assert again["timed"] is False and again["device"] == device and again["ms"] == ms
    # another model is timed afresh when trained; until then the code says Auto will choose
    page.fill("[data-testid=layer-0] input[data-field=units]", "4")
    assert "# Device: Auto." in page.input_value("#code")
    assert page.inner_text("#device-note").startswith("Auto: Train first times")
    page.fill("[data-testid=layer-0] input[data-field=units]", "8")
    assert page.inner_text("#device-note") == note


def test_the_device_selector_overrides_auto(playground):
    page = playground
    use_circle(page, epochs=1)
    for device, label, name in (("webgpu", "WebGPU", "WebGPU:0"), ("cpu", "the CPU", "CPU:0")):
        page.select_option("#device", device)
        code = page.input_value("#code")
        assert f'tf.config.set_device("{device}")  # chosen in the page' in code
        note = page.inner_text("#device-note")
        # (the Auto figures follow when an earlier test in this page timed the model: order-dependent)
        assert note.startswith(f"Training on {label} (your choice).")
        run = click_and_wait(page, "#train")
        assert run["ok"] is True, app(page, "lastError")
        choice = app(page, "deviceChoice")
        assert choice["setting"] == device and choice["device"] == device and choice["rule"] == "user"
        assert not choice["timed"]
        assert app(page, "lastCode") == code
        assert weights_device(page) == name
        assert page.inner_text("#device-note") == note
    shot(page, "override")
    page.select_option("#device", "auto")
    assert page.inner_text("#device-note").startswith("Training on ")


def test_a_large_model_goes_to_webgpu_without_timing_the_cpu(playground):
    page = playground
    use_mnist(page, train=128, test=64, epochs=1, units=32)
    run = click_and_wait(page, "#train")
    assert run["ok"] is True, app(page, "lastError")
    choice = app(page, "deviceChoice")
    assert choice["device"] == "webgpu" and choice["rule"] == "large" and choice["timed"] is True
    assert choice["ms"] == {"cpu": None, "webgpu": None}
    assert "25,450 parameters x batch 32 is too much work for the pure-Python CPU" in page.inner_text("#device-note")
    assert 'tf.config.set_device("webgpu")  # Auto: too large a model for the pure-Python CPU' in \
        page.input_value("#code")
    assert weights_device(page) == "WebGPU:0"


def test_edited_code_runs_on_its_own_device(playground):
    page = playground
    use_circle(page, epochs=1)
    code = re.sub(r"^tf\.config\.set_device\(.*$", 'tf.config.set_device("webgpu")  # mine',
                  page.input_value("#code"), flags=re.M)          # Auto chose the CPU for this model
    assert 'set_device("webgpu")  # mine' in code
    page.fill("#code", code)
    run = click_and_wait(page, "#train")
    assert run["ok"] is True, app(page, "lastError")
    assert app(page, "deviceChoice")["setting"] == "code" and app(page, "lastCode") == code
    assert weights_device(page) == "WebGPU:0"      # (and back to the generated code)
