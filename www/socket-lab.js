// <socket-lab>: one <script type="module" src=".../socket-lab.js"> registers the element.
//
//   <socket-lab bridge="ws://127.0.0.1:8000/ws" lang="zh-CN" experiment="sticky"
//               panels="log" theme="dark" height="600px"></socket-lab>
//
// Every attribute is optional and the element reacts to changes: it remounts the console with
// the new options. The console itself renders into a shadow root (see mount()), so the host
// page's CSS and the console's CSS stay apart; theme it with --sl-* custom properties.
import init, { mount } from "./pkg/web.js";

const ready = init();
const OPTIONS = ["bridge", "lang", "experiment", "theme"];

class SocketLabElement extends HTMLElement {
  static get observedAttributes() {
    return [...OPTIONS, "panels", "height"];
  }

  #console = null;
  #scheduled = false;

  connectedCallback() {
    this.#schedule();
  }

  disconnectedCallback() {
    this.#console?.destroy();
    this.#console = null;
  }

  attributeChangedCallback() {
    if (this.isConnected) this.#schedule();
  }

  // Several attributes set at once cause one remount, not several.
  #schedule() {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(async () => {
      this.#scheduled = false;
      await ready;
      if (this.isConnected) this.#mount();
    });
  }

  #mount() {
    this.#console?.destroy();
    this.#console = null;
    const options = {};
    for (const name of OPTIONS) {
      const value = this.getAttribute(name);
      if (value) options[name] = value;
    }
    const panels = this.getAttribute("panels");
    if (panels !== null) options.panels = panels.split(/[\s,]+/).filter(Boolean);
    const height = this.getAttribute("height");
    this.style.display = "block";
    this.style.height = height ?? "";
    this.style.overflow = height ? "auto" : "";
    try {
      this.#console = mount(this, options);
    } catch (error) {
      this.textContent = String(error);
    }
  }
}

if (!customElements.get("socket-lab")) customElements.define("socket-lab", SocketLabElement);
