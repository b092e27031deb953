/**
 * @module Entry point: `/d/{deployment}` opens the viewer; the token comes
 * from a share link's fragment, or from the form the first time.
 */
import { App, must, parsePermalink } from "./app";
import { adoptFragmentToken, forgetToken, saveToken, token } from "./token";
import "./styles.css";

const fragment = adoptFragmentToken();
const route = /^\/d\/([^/]+)\/?$/.exec(location.pathname);
const deployment = route?.[1] ? decodeURIComponent(route[1]) : null;

if (!deployment) {
  landing();
} else if (!token()) {
  askToken(deployment, null);
} else {
  open(deployment);
}

function open(id: string): void {
  const app = new App(id, token, (err) => {
    forgetToken();
    askToken(id, err.message);
  });
  const jump = must<HTMLFormElement>("jump-form");
  jump.addEventListener("submit", () => {
    const n = Number(must<HTMLInputElement>("jump-input").value);
    if (Number.isInteger(n) && n >= 1) app.goTo(n);
  });
  // For the end-to-end tests and the bench: figures, never the token.
  Object.assign(window, {
    edgetail: {
      stats: () => app.stats(),
      states: () => app.states(),
      texts: (from: number, to: number) => {
        const out: (string | null)[] = [];
        for (let s = from; s <= to; s++) out.push(app.textOf(s));
        return out;
      },
    },
  });
  void app.start(parsePermalink(fragment));
}

function askToken(id: string, problem: string | null): void {
  const dialog = must<HTMLDialogElement>("token-dialog");
  must("token-problem").textContent = problem ?? "";
  must<HTMLFormElement>("token-form").addEventListener(
    "submit",
    () => {
      const value = must<HTMLInputElement>("token-input").value.trim();
      if (!value) return;
      saveToken(value);
      // A fresh start with the token (the dialog closes on submit).
      location.reload();
    },
    { once: true },
  );
  void id;
  dialog.showModal();
}

function landing(): void {
  document.body.classList.add("landing");
  const form = must<HTMLFormElement>("open-form");
  form.hidden = false;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const id = must<HTMLInputElement>("open-id").value.trim();
    const t = must<HTMLInputElement>("open-token").value.trim();
    if (!id) return;
    if (t) saveToken(t);
    location.assign(`/d/${encodeURIComponent(id)}`);
  });
}
