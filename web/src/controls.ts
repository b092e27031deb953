/**
 * @module The page's controls: toolbar (search, filters, time, wrap,
 * download, copy), connection status, notices, the "new lines" pill, the
 * gap marker of big logs, and keyboard shortcuts.
 */
import type { App } from "./app";
import { errorText, must } from "./app";
import { stepIndex } from "./row-dom";
import type { Interval } from "./rows";
import type { StreamState } from "./stream";

const LEVELS: [string, string][] = [
  ["", "All levels"],
  ["info,warn,error,fatal", "Info and above"],
  ["warn,error,fatal", "Warnings and errors"],
  ["error,fatal", "Errors only"],
];

/** Binds the toolbar and keyboard to an {@link App}. */
export class Controls {
  private readonly q = must<HTMLInputElement>("q");
  private readonly searchStatus = must("search-status");
  private readonly level = must<HTMLSelectElement>("level");
  private readonly step = must<HTMLSelectElement>("step");
  private readonly statusEl = must("status");
  private readonly notices = must("notices");
  private readonly jumpLive = must<HTMLButtonElement>("jump-live");
  private wrapAround = false;

  constructor(private readonly app: App) {
    must("deployment").textContent = app.deployment;
    document.title = `${app.deployment} · edgetail`;
    for (const [value, label] of LEVELS)
      this.level.add(new Option(label, value));
    this.bind();
  }

  /** Shows the connection state. */
  status(state: StreamState): void {
    const el = this.statusEl;
    el.dataset.state = state.kind;
    switch (state.kind) {
      case "connecting":
        el.textContent = "connecting…";
        break;
      case "live":
        el.textContent = "live";
        break;
      case "behind":
        el.textContent = `behind by ${state.seconds} s (${state.lines.toLocaleString()} lines)`;
        break;
      case "reconnecting":
        el.textContent = `reconnecting (attempt ${state.attempt})…`;
        break;
      case "ended":
        el.textContent = `ended: ${state.status}${
          state.exitCode === undefined ? "" : ` (exit ${state.exitCode})`
        }`;
        el.dataset.status = state.status;
        break;
      case "error":
        el.textContent = "error";
        el.title = state.message;
        break;
    }
  }

  /** Tells the user something happened (reset, lag, errors). */
  notice(kind: string, message: string): HTMLElement {
    const item = document.createElement("div");
    item.className = `notice notice-${kind}`;
    item.dataset.kind = kind;
    const text = document.createElement("span");
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => item.remove());
    item.append(text, close);
    this.notices.append(item);
    while (this.notices.children.length > 5)
      this.notices.firstElementChild?.remove();
    return item;
  }

  /** The "N new lines, jump to live" pill. */
  showNewLines(n: number, paused: boolean): void {
    this.jumpLive.hidden = !paused;
    const ended = this.statusEl.dataset.state === "ended";
    this.jumpLive.textContent =
      n > 0
        ? `${n.toLocaleString()} new lines, jump to live`
        : ended
          ? "Jump to the end"
          : "Jump to live";
  }

  /** The row standing for the unloaded middle of a big log. */
  gapRow(gap: Interval): HTMLElement {
    const row = document.createElement("div");
    row.className = "row gap";
    row.dataset.seq = String(gap.from);
    const n = gap.to - gap.from + 1;
    const text = document.createElement("span");
    text.className = "gap-text";
    text.textContent = `${n.toLocaleString()} lines (${gap.from.toLocaleString()}–${gap.to.toLocaleString()}) not loaded`;
    const load = button("Load them", () => this.app.openGap());
    load.dataset.act = "load-gap";
    const jump = button("Jump to line…", () => this.askLine());
    jump.dataset.act = "jump";
    row.append(text, load, jump);
    return row;
  }

  resetFilters(): void {
    this.level.value = "";
    this.step.value = "";
  }

  selectionChanged(): void {
    const none = this.app.selection === null;
    must<HTMLButtonElement>("copy-line").disabled = none;
    must<HTMLButtonElement>("copy-link").disabled = none;
  }

  private bind(): void {
    const app = this.app;
    must("search").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.search("next");
    });
    must("prev").addEventListener("click", () => void this.search("prev"));
    this.q.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.shiftKey) {
        e.preventDefault();
        void this.search("prev");
      }
    });
    this.level.addEventListener("change", () => this.applyFilter());
    this.step.addEventListener("change", () => this.applyFilter());
    this.step.addEventListener("focus", () => this.fillSteps());
    this.step.addEventListener("pointerdown", () => this.fillSteps());
    must("time").addEventListener("click", () => this.cycleTime());
    must("wrap").addEventListener("click", () => this.toggleWrap());
    must("download").addEventListener("click", () => void this.download());
    must("copy-line").addEventListener("click", () => void this.copyLine());
    must("copy-link").addEventListener("click", () => void this.copyLink());
    must("help-btn").addEventListener("click", () =>
      must<HTMLDialogElement>("help").showModal(),
    );
    this.jumpLive.addEventListener("click", () => app.view.follow());

    const log = must("log");
    log.addEventListener("click", (e) => {
      const target = e.target;
      if (!(target instanceof Element)) return;
      const fold = target.closest<HTMLElement>(".fold, .header .msg");
      const row = target.closest<HTMLElement>(".row");
      if (target.closest(".ln") && row?.dataset.seq) {
        e.preventDefault();
        const seq = Number(row.dataset.seq);
        const sel = app.selection;
        app.select(
          e.shiftKey && sel
            ? { from: Math.min(sel.from, seq), to: Math.max(sel.to, seq) }
            : { from: seq, to: seq },
        );
      } else if (fold && row?.dataset.seq && !target.closest("a")) {
        app.toggleFold(Number(row.dataset.seq));
      }
    });
    window.addEventListener("hashchange", () => {
      const m = /^#L(\d+)(?:-L?(\d+))?$/.exec(location.hash);
      if (!m?.[1]) return;
      const from = Number(m[1]);
      app.selection = { from, to: Number(m[2] ?? from) };
      app.goTo(from);
    });
    document.addEventListener("keydown", (e) => this.key(e));
  }

  private key(e: KeyboardEvent): void {
    const app = this.app;
    const t = e.target;
    const typing =
      t instanceof HTMLInputElement ||
      t instanceof HTMLSelectElement ||
      t instanceof HTMLTextAreaElement;
    if (e.key === "Escape") {
      if (typing && t instanceof HTMLElement) t.blur();
      else if (app.selection) app.select(null);
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const sel = app.selection;
    const step = (d: number) => {
      const count = app.count();
      if (count === 0) return;
      const index = Math.min(
        count - 1,
        app.indexOfSeq(sel ? sel.from : app.top),
      );
      const hidden = (i: number) => app.rowHidden(i);
      let next = sel ? stepIndex(index, d, count, hidden) : index;
      // From nothing selected, or a hidden row: the nearest shown one.
      if (hidden(next)) next = stepIndex(next, d || 1, count, hidden);
      if (hidden(next)) next = stepIndex(next, -(d || 1), count, hidden);
      const seq = app.seqAt(next);
      app.select({ from: seq, to: seq });
      app.goTo(seq);
    };
    const actions: Record<string, () => void> = {
      "/": () => this.q.focus(),
      n: () => void this.search("next"),
      N: () => void this.search("prev"),
      j: () => step(1),
      k: () => step(-1),
      g: () => app.goTo(app.seqAt(0)),
      G: () => app.view.follow(),
      o: () => this.toggleSelected(),
      Enter: () => this.toggleSelected(),
      c: () => void this.copyLine(),
      y: () => void this.copyLink(),
      t: () => this.cycleTime(),
      w: () => this.toggleWrap(),
      ":": () => this.askLine(),
      "?": () => must<HTMLDialogElement>("help").showModal(),
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  }

  private toggleSelected(): void {
    const sel = this.app.selection;
    if (!sel) return;
    const section = this.app.sectionOf(sel.from);
    if (section) this.app.toggleFold(section.header);
  }

  private async search(direction: "next" | "prev"): Promise<void> {
    const app = this.app;
    const q = this.q.value.trim();
    if (!q) return;
    if (q !== app.query) {
      app.query = q;
      app.currentMatch = null;
      this.wrapAround = false;
      app.redraw();
    }
    const from =
      direction === "next"
        ? this.wrapAround
          ? 1
          : (app.currentMatch ?? app.top - 1) + 1
        : this.wrapAround
          ? app.store.total
          : (app.currentMatch ?? app.top + 1) - 1;
    this.wrapAround = false;
    if (from < 1) {
      this.searchStatus.textContent = "no match above";
      this.wrapAround = true;
      return;
    }
    this.searchStatus.textContent = "searching…";
    try {
      const filter = app.filter?.filter;
      const page = await app.api.history({
        q,
        from_seq: from,
        limit: 1,
        direction: direction === "next" ? "forward" : "backward",
        ...(filter?.level ? { level: filter.level } : {}),
        ...(filter?.step ? { step: filter.step } : {}),
      });
      const hit = page.lines[0];
      if (!hit) {
        this.searchStatus.textContent =
          direction === "next"
            ? "no more matches below (again: from the top)"
            : "no more matches above (again: from the end)";
        this.wrapAround = true;
        return;
      }
      app.currentMatch = hit.seq;
      this.searchStatus.textContent = `match at line ${hit.seq.toLocaleString()}`;
      app.selection = { from: hit.seq, to: hit.seq };
      this.selectionChanged();
      app.goTo(hit.seq);
    } catch (err) {
      this.searchStatus.textContent = `search failed: ${errorText(err)}`;
    }
  }

  private applyFilter(): void {
    this.app.setFilter({ level: this.level.value, step: this.step.value });
  }

  private fillSteps(): void {
    const current = this.step.value;
    const steps = this.app.store.knownSteps();
    if (this.step.options.length === steps.length + 1) return;
    this.step.replaceChildren(
      new Option("All steps", ""),
      ...steps.map((s) => new Option(s, s)),
    );
    this.step.value = current;
  }

  private cycleTime(): void {
    const order = ["off", "abs", "rel"] as const;
    const next =
      order[(order.indexOf(this.app.time) + 1) % order.length] ?? "off";
    this.app.time = next;
    const label = {
      off: "Time: off",
      abs: "Time: clock",
      rel: "Time: since start",
    }[next];
    must("time").textContent = label;
    document.body.classList.toggle("with-time", next !== "off");
    this.app.view.relayout(null);
    this.app.redraw();
  }

  private toggleWrap(): void {
    const on = document.body.classList.toggle("wrap");
    must("wrap").setAttribute("aria-pressed", String(on));
    this.app.view.relayout(null);
    this.app.redraw();
  }

  private async download(): Promise<void> {
    const btn = must<HTMLButtonElement>("download");
    btn.disabled = true;
    try {
      const blob = await this.app.api.exportBlob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `${this.app.deployment}.log`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      this.notice("error", `Download failed: ${errorText(err)}`);
    } finally {
      btn.disabled = false;
    }
  }

  private async copyLine(): Promise<void> {
    const sel = this.app.selection;
    if (!sel) return;
    const lines: string[] = [];
    for (let s = sel.from; s <= sel.to && lines.length < 10_000; s++) {
      const text = this.app.textOf(s);
      if (text !== null) lines.push(text);
    }
    await copy(lines.join("\n"));
    this.flash("copy-line", "Copied");
  }

  private async copyLink(): Promise<void> {
    const sel = this.app.selection;
    if (!sel) return;
    const hash =
      sel.from === sel.to ? `L${sel.from}` : `L${sel.from}-L${sel.to}`;
    await copy(`${location.origin}${location.pathname}#${hash}`);
    this.flash("copy-link", "Copied");
  }

  private flash(id: string, text: string): void {
    const el = must(id);
    const before = el.textContent;
    el.textContent = text;
    setTimeout(() => {
      el.textContent = before;
    }, 1200);
  }

  private askLine(): void {
    const dialog = must<HTMLDialogElement>("jump-dialog");
    const input = must<HTMLInputElement>("jump-input");
    input.max = String(this.app.store.total);
    dialog.showModal();
    input.focus();
  }
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

async function copy(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}
