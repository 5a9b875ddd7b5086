// imgperc serve: the page. Plain JS, no build step, nothing from the internet.
// Option bounds come from the server's OpenAPI schema (the command line's options).
"use strict";

const PREVIEW = 384; // longest side of the quick previews, in pixels
const $ = (id) => document.getElementById(id);
const state = { images: [], current: -1, task: "style", style: null, schema: {}, models: [], preview: null, timer: 0 };

function fields(path) {
  return state.schema.paths[path].post.requestBody.content["multipart/form-data"].schema.properties;
}

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function showError(text) {
  $("error").hidden = !text;
  $("error").textContent = text ? `Error: ${text}` : "";
}

function status(text) { $("status").textContent = text; }

// --- setting up from the schema and the model list -------------------------------------

async function setUp() {
  [state.schema, state.models] = await Promise.all([getJSON("/openapi.json"), getJSON("/v1/models").then((m) => m.models)]);
  const style = fields("/v1/stylize"), upscale = fields("/v1/upscale");
  const strength = $("strength");
  Object.assign(strength, { min: style.strength.minimum, max: style.strength.maximum, step: 0.05, value: style.strength.default });
  strength.title = style.strength.description;
  $("style-size").min = style.style_size.minimum;
  $("style-size").title = style.style_size.description;
  for (const scale of upscale.scale.enum) $("scale").add(new Option(`x${scale}`, scale));
  if (upscale.denoise) {  // an upscaler option of the CLI's, when it has it
    Object.assign($("denoise"), { min: upscale.denoise.minimum, max: upscale.denoise.maximum, step: 0.05, value: 0.5, title: upscale.denoise.description });
    $("denoise-row").hidden = false;
    showDenoise();
  }
  if (upscale.outscale) {  // any output scale: the model's result resized (the CLI's --outscale)
    $("outscale").title = upscale.outscale.description;
    $("outscale-row").hidden = false;
  }
  showStrength();
  fillGallery();
  fillUpscalers();
}

function fillGallery() {
  const gallery = $("gallery");
  const styles = state.models.filter((m) => m.task === "style").sort((a, b) => (b.thumbnail ? 1 : 0) - (a.thumbnail ? 1 : 0));
  for (const model of styles) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.style = model.id;
    button.title = model.description + (model.thumbnail ? "" : " (downloaded on first use)");
    const picture = model.thumbnail ? Object.assign(document.createElement("img"), { src: model.thumbnail, alt: "" })
      : Object.assign(document.createElement("span"), { className: "none", textContent: "download" });
    button.append(picture, document.createTextNode(model.id));
    button.addEventListener("click", () => chooseStyle(model.id));
    gallery.append(button);
  }
  const first = styles.find((m) => m.thumbnail) || styles[0];
  if (first) chooseStyle(first.id, false);
}

function fillUpscalers() {
  const select = $("sr-model"), scale = $("scale").value;
  select.replaceChildren(new Option(`default (x${scale})`, ""));
  for (const model of state.models.filter((m) => m.task === "sr" && String(m.scale) === scale)) {
    select.add(new Option(model.id, model.id));
  }
  select.add(new Option("bicubic (baseline)", "bicubic"));
}

function chooseStyle(id, refresh = true) {
  state.style = id;
  for (const button of $("gallery").children) button.classList.toggle("chosen", button.dataset.style === id);
  if (refresh) changed();
}

function showDenoise() { $("denoise-value").textContent = Number($("denoise").value).toFixed(2); }

function showStrength() { $("strength-value").textContent = Number($("strength").value).toFixed(2); }

// --- images ------------------------------------------------------------------------------

function addImages(files) {
  for (const file of files) {
    const url = URL.createObjectURL(file);
    state.images.push({ file, url, result: null, name: file.name });
  }
  renderQueue();
  if (files.length) select(state.images.length - files.length);
}

function renderQueue() {
  $("queue").replaceChildren(...state.images.map((image, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.title = image.name;
    button.className = index === state.current ? "current" : "";
    const picture = Object.assign(document.createElement("img"), { src: image.url, alt: image.name });
    picture.addEventListener("error", () => picture.replaceWith(Object.assign(document.createElement("span"), { className: "name", textContent: image.name })));
    button.append(picture);
    button.addEventListener("click", () => select(index));
    return button;
  }));
  $("run-all").disabled = state.images.length < 2;
}

function select(index) {
  state.current = index;
  renderQueue();
  const image = state.images[index];
  $("before").src = image.url;  // shown once the browser can draw it (a broken file is not)
  $("hint").hidden = true;
  showResult(image.result);
  changed();
}

function showResult(result) {
  $("after").src = result ? result.url : (state.images[state.current] || {}).url || "";
  const link = $("download");
  link.classList.toggle("disabled", !result || result.preview);
  link.setAttribute("aria-disabled", String(!result || result.preview));
  if (result && !result.preview) { link.href = result.url; link.download = result.name; } else { link.removeAttribute("href"); }
}

// --- requests ----------------------------------------------------------------------------

function form(image, preview) {
  const data = new FormData();
  data.append("image", image.file, image.file.name);
  if (state.task === "upscale") {
    data.append("scale", $("scale").value);
    if ($("sr-model").value) data.append("model", $("sr-model").value);
    data.append("histogram_match", $("histogram").checked);
    if ($("denoise-on").checked) data.append("denoise", $("denoise").value);
    if ($("outscale").value) data.append("outscale", $("outscale").value);
    return { endpoint: "/v1/upscale", data };
  }
  if (state.task === "painting") {
    for (const painting of $("painting").files) data.append("style_image", painting, painting.name);
    if ($("style-size").value) data.append("style_size", $("style-size").value);
  } else if (state.style) {
    data.append("style", state.style);
  }
  data.append("strength", $("strength").value);
  data.append("preserve_color", $("preserve").checked);
  const shown = $("before"), longest = Math.max(shown.naturalWidth, shown.naturalHeight);
  if (preview && (!longest || longest > PREVIEW)) data.append("size", PREVIEW);
  return { endpoint: "/v1/stylize", data };
}

function filename(xhr, fallback) {
  const match = /filename="([^"]+)"/.exec(xhr.getResponseHeader("Content-Disposition") || "");
  return match ? match[1] : fallback;
}

// POST the form; resolves to {blob, name}; shows upload progress, queue place and tiles.
function send(endpoint, data, label) {
  const job = `job-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  data.append("job", job);
  const xhr = new XMLHttpRequest();
  const bar = $("progress");
  let poll = 0;
  const promise = new Promise((resolve, reject) => {
    xhr.open("POST", endpoint);
    xhr.responseType = "blob";
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) { bar.hidden = false; bar.value = (90 * event.loaded) / event.total; status(`${label}: uploading`); }
    };
    xhr.upload.onload = () => {
      status(`${label}: working`);
      poll = setInterval(async () => {
        const response = await fetch(`/v1/progress/${job}`);
        if (!response.ok) return;
        const p = await response.json();
        if (p.state === "queued") status(`${label}: waiting, place ${p.position} in the queue`);
        else if (p.tiles) { bar.value = 90 + (10 * p.tiles_done) / p.tiles; status(`${label}: tile ${p.tiles_done} of ${p.tiles} (${p.seconds} s)`); }
        else status(`${label}: working (${p.seconds} s)${p.note ? ` — ${p.note}` : ""}`);
      }, 400);
    };
    xhr.onload = async () => {
      if (xhr.status === 200) return resolve({ blob: xhr.response, name: filename(xhr, "result") });
      let detail = `HTTP ${xhr.status}`;
      try { detail = JSON.parse(await xhr.response.text()).detail || detail; } catch (_) { /* not JSON */ }
      if (xhr.status === 429) detail += ` (retry after ${xhr.getResponseHeader("Retry-After")} s)`;
      reject(new Error(detail));
    };
    xhr.onerror = () => reject(new Error("the server did not answer (is imgperc serve still running?)"));
    xhr.onabort = () => reject(new DOMException("replaced by a newer request", "AbortError"));
    xhr.send(data);
  }).finally(() => { clearInterval(poll); bar.hidden = true; });
  promise.abort = () => xhr.abort();
  return promise;
}

function ready() {
  if (state.current < 0) return false;
  if (state.task === "painting" && !$("painting").files.length) { status("Choose a painting to use as the style."); return false; }
  return true;
}

// Something changed: a quick preview at reduced size (styles), or wait for "Full size".
function changed() {
  showError("");
  $("run").disabled = state.current < 0;
  const image = state.images[state.current];
  if (image) { image.result = null; showResult(null); }
  clearTimeout(state.timer);
  if (state.preview) state.preview.abort();
  if (state.task === "upscale" || !ready()) { if (state.task === "upscale" && image) status("Press Full size to upscale."); return; }
  state.timer = setTimeout(preview, 200);
}

async function preview() {
  const image = state.images[state.current];
  const { endpoint, data } = form(image, true);
  state.preview = send(endpoint, data, "Preview");
  try {
    const { blob } = await state.preview;
    image.result = { url: URL.createObjectURL(blob), preview: true };
    if (state.images[state.current] === image) showResult(image.result);
    status("Preview ready (reduced size). Full size makes the file to download.");
  } catch (error) {
    if (error.name !== "AbortError") { showError(error.message); status(""); }
  } finally {
    state.preview = null;
  }
}

async function runFull(index) {
  const image = state.images[index];
  const { endpoint, data } = form(image, false);
  const { blob, name } = await send(endpoint, data, `${image.name}`);
  image.result = { url: URL.createObjectURL(blob), name, preview: false };
  if (index === state.current) showResult(image.result);
  return image.result;
}

async function runCurrent() {
  if (!ready()) return;
  showError("");
  $("run").disabled = true;
  try {
    const result = await runFull(state.current);
    status(`Done: ${result.name}`);
  } catch (error) {
    showError(error.message);
    status("");
  } finally {
    $("run").disabled = false;
  }
}

async function runAll() {
  if (!ready()) return;
  showError("");
  for (let index = 0; index < state.images.length; index++) {
    try {
      const result = await runFull(index);
      const link = Object.assign(document.createElement("a"), { href: result.url, download: result.name });
      link.click();
    } catch (error) {
      showError(`${state.images[index].name}: ${error.message}`);
    }
  }
  status("All images done.");
}

// --- wiring ------------------------------------------------------------------------------

function setTask(task) {
  state.task = task;
  $("style-panel").hidden = task !== "style";
  $("painting-panel").hidden = task !== "painting";
  $("look").hidden = task === "upscale";
  $("upscale-panel").hidden = task !== "upscale";
  changed();
}

document.addEventListener("DOMContentLoaded", () => {
  const drop = $("drop");
  $("files").addEventListener("change", (event) => { addImages([...event.target.files]); event.target.value = ""; });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => { event.preventDefault(); drop.classList.remove("over"); addImages([...event.dataTransfer.files]); });
  for (const radio of document.querySelectorAll("input[name=task]")) radio.addEventListener("change", () => setTask(radio.value));
  $("strength").addEventListener("input", showStrength);
  $("denoise").addEventListener("input", showDenoise);
  for (const id of ["strength", "preserve", "painting", "style-size", "histogram", "sr-model", "denoise", "denoise-on", "outscale"]) $(id).addEventListener("change", changed);
  $("scale").addEventListener("change", () => { fillUpscalers(); changed(); });
  $("before").addEventListener("load", () => { $("compare").hidden = false; });
  $("before").addEventListener("error", () => { $("compare").hidden = true; });
  $("split").addEventListener("input", (event) => $("compare").style.setProperty("--split", `${event.target.value}%`));
  $("run").addEventListener("click", runCurrent);
  $("run-all").addEventListener("click", runAll);
  setUp().catch((error) => showError(`could not load the page's settings: ${error.message}`));
});
