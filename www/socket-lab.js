// <socket-lab>: one <script type="module" src=".../socket-lab.js"> registers the element.
//
//   <socket-lab bridge="ws://127.0.0.1:8000/ws" lang="zh-CN" experiment="sticky"
//               panels="log" theme="dark" height="600px"
//               recording="/recordings/sticky-en.jsonl" lazy click-to-load></socket-lab>
//
// Every attribute is optional and the element reacts to changes: it remounts the console with
// the new options. The console itself renders into a shadow root (see mount()), so the host
// page's CSS and the console's CSS stay apart; theme it with --sl-* custom properties.
//
// Loading and connecting, for pages with several consoles:
// - `lazy`: connect on the reader's first use of the console (a click, a key, a focus), not at
//   load. On by default when the page has more than one <socket-lab>; `lazy="false"` turns it off.
// - `click-to-load`: show a "Load" button and fetch nothing (not even the WebAssembly) until it
//   is pressed (the convention of StackBlitz's clickToLoad).
// - `recording`: a recording to play, labelled as such, when the bridge cannot be reached. A
//   console with a recording starts when it scrolls into view, so that a reader sees it play
//   rather than find it finished (a tutorial page's later consoles are far below).

// The console's code is fetched once, when the first console needs it.
let loading = null;
function load() {
  loading ??= import("./pkg/web.js").then(async (module) => {
    await module.default();
    return module;
  });
  return loading;
}

const OPTIONS = ["bridge", "lang", "experiment", "theme", "recording"];

class SocketLabElement extends HTMLElement {
  static get observedAttributes() {
    return [...OPTIONS, "panels", "height", "lazy", "click-to-load"];
  }

  #console = null;
  #scheduled = false;
  // Waiting for a console with a recording to scroll into view, and the room it holds meanwhile.
  #watch = null;
  #held = false;
  // Pressed "Load" (click-to-load): from then on this element behaves as any other.
  #asked = false;

  connectedCallback() {
    this.#schedule();
  }

  disconnectedCallback() {
    this.#watch?.disconnect();
    this.#watch = null;
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
      if (this.hasAttribute("click-to-load") && !this.#asked) {
        this.#placeholder();
        return;
      }
      if (this.hasAttribute("recording") && !this.#console && !(await this.#inView())) return;
      const module = await load();
      if (this.isConnected) this.#mount(module.mount);
    });
  }

  // Resolves once the element is in the viewport (at once if it is already), with whether it
  // is still in the page.
  #inView() {
    this.#watch?.disconnect();
    // About a console's room while it waits: an empty element has no size, and consoles
    // further down would all count as in view at once.
    this.style.display = "block";
    if (!this.style.minHeight) {
      this.style.minHeight = "16rem";
      this.#held = true;
    }
    return new Promise((resolve) => {
      this.#watch = new IntersectionObserver((entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        this.#watch?.disconnect();
        this.#watch = null;
        resolve(this.isConnected);
      });
      this.#watch.observe(this);
    });
  }

  // click-to-load: a button, and nothing fetched until it is pressed.
  #placeholder() {
    this.#console?.destroy();
    this.#console = null;
    const zh = (this.getAttribute("lang") ?? navigator.language ?? "").toLowerCase().startsWith("zh");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "socket-lab-load";
    button.textContent = zh ? "加载 Socket Lab 控制台" : "Load the Socket Lab console";
    button.addEventListener("click", () => {
      this.#asked = true;
      this.#schedule();
    });
    this.replaceChildren(button);
  }

  #mount(mount) {
    if (this.#held) {
      this.style.minHeight = "";
      this.#held = false;
    }
    this.#console?.destroy();
    this.#console = null;
    this.replaceChildren();
    const options = {};
    for (const name of OPTIONS) {
      const value = this.getAttribute(name);
      if (value) options[name] = value;
    }
    const panels = this.getAttribute("panels");
    if (panels !== null) options.panels = panels.split(/[\s,]+/).filter(Boolean);
    const lazy = this.getAttribute("lazy");
    // A reader who pressed "Load" has used the console already.
    options.lazy = this.#asked ? false : lazy === null ? document.querySelectorAll("socket-lab").length > 1 : lazy !== "false";
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
