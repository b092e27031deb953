/**
 * @module The virtualized list. @tanstack/virtual-core lays out blocks of
 * BLOCK rows (not single rows: a million rows would make it rebuild a
 * million measurements whenever the count grows, which it does at every
 * live batch), measures the rendered ones and says which are on screen.
 * The app supplies the rows; this module positions, reuses and scrolls.
 */
import {
  elementScroll,
  observeElementOffset,
  observeElementRect,
  Virtualizer,
} from "@tanstack/virtual-core";

/** Rows per virtualized block. */
export const BLOCK = 50;

/** What the view needs from the app. */
export interface ViewSource {
  /** Rows in the list. */
  count(): number;
  /** A key that changes whenever block `b` must be drawn again. */
  signature(b: number): string;
  /** Fills `el` with the rows of indices [from, to). */
  renderRows(el: HTMLElement, from: number, to: number): void;
  /** Told after each frame which row indices are on screen. */
  visible(from: number, to: number): void;
  /** The row showing `seq` (or the one before it when it is hidden). */
  indexOfSeq(seq: number): number;
  /** The seq shown at row `index`. */
  seqAt(index: number): number;
}

/** How long after an input a scroll counts as the user's own. */
const INTENT_MS = 700;

/** Scrolls, follows the live end and renders what is on screen. */
export class LogView {
  readonly rowHeight: number;
  following = true;
  private readonly spacer: HTMLElement;
  private readonly virtualizer: Virtualizer<HTMLElement, HTMLElement>;
  private readonly blocks = new Map<number, { el: HTMLElement; sig: string }>();
  private frame = 0;
  private lastAutoTop = -1;
  /** A jump in progress: by seq, so that it survives layout changes. */
  private pending: {
    seq: number;
    tries: number;
    ok: number;
    align: "top" | "center";
  } | null = null;
  private intentAt = -Infinity;
  private pointerDown = false;
  private onFollowChange: (following: boolean) => void = () => {};
  private onUserScrollCb: () => void = () => {};

  constructor(
    private readonly scroller: HTMLElement,
    private readonly source: ViewSource,
  ) {
    this.spacer = document.createElement("div");
    this.spacer.className = "spacer";
    scroller.append(this.spacer);
    this.rowHeight = measureRowHeight(this.spacer);
    this.virtualizer = new Virtualizer<HTMLElement, HTMLElement>({
      count: 0,
      getScrollElement: () => this.scroller,
      estimateSize: (b) => this.blockRows(b) * this.rowHeight,
      scrollToFn: elementScroll,
      observeElementRect,
      observeElementOffset,
      overscan: 1,
      onChange: () => this.request(),
    });
    // Keeping the rows on screen still when blocks above are measured is
    // right while reading, but not while following or jumping: there the
    // view places the scroll itself, and any other scroll is the user's.
    this.virtualizer.shouldAdjustScrollPositionOnItemSizeChange = (
      item,
      _delta,
      instance,
    ) =>
      !this.following &&
      !this.pending &&
      item.start < (instance.scrollOffset ?? 0);
    this.virtualizer._didMount();
    // The virtualizer only tells of range changes; a follower must also
    // stick to the end when the window (or the toolbar) changes size.
    new ResizeObserver(() => this.request()).observe(scroller);
    scroller.addEventListener("scroll", () => this.onScroll(), {
      passive: true,
    });
    scroller.addEventListener(
      "wheel",
      (e) => {
        this.userIntent();
        if (e.deltaY < 0) this.setFollowing(false);
      },
      { passive: true },
    );
    // Only scrolls the user asked for leave follow mode or a jump: the
    // list itself moves when blocks are measured or sections fold.
    const intent = () => this.userIntent();
    scroller.addEventListener("touchmove", intent, { passive: true });
    scroller.addEventListener("pointerdown", () => {
      this.pointerDown = true;
      this.userIntent();
    });
    window.addEventListener("pointerup", () => {
      this.pointerDown = false;
    });
    document.addEventListener("keydown", (e) => {
      if (SCROLL_KEYS.has(e.key)) this.userIntent();
    });
  }

  /** Called when the user scrolls by hand (wheel, keys, scrollbar, touch). */
  onUserScroll(cb: () => void): void {
    this.onUserScrollCb = cb;
  }

  /** Whether a jump (permalink, search, line) is still being applied. */
  get jumping(): boolean {
    return this.pending !== null;
  }

  private userIntent(): void {
    this.intentAt = performance.now();
    this.pending = null;
    this.onUserScrollCb();
  }

  private byUser(): boolean {
    return this.pointerDown || performance.now() - this.intentAt < INTENT_MS;
  }

  /** Called with the new value whenever follow mode turns on or off. */
  onFollow(cb: (following: boolean) => void): void {
    this.onFollowChange = cb;
  }

  /** Schedules a render on the next animation frame. */
  request(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Forgets block sizes (the row layout changed), keeping `index` in view. */
  relayout(anchorIndex: number | null): void {
    // Blocks are drawn again in place (no blank frame), sizes re-measured.
    for (const block of this.blocks.values()) block.sig = "";
    this.virtualizer.measure();
    // A pending jump (permalink, search) wins over keeping the old place.
    if (anchorIndex !== null && !this.following && !this.pending) {
      this.setFollowing(false);
      const seq = this.source.seqAt(anchorIndex);
      this.pending = { seq, tries: 0, ok: 0, align: "top" };
    }
    this.request();
  }

  /** Brings row `index` into view, centred. */
  scrollToIndex(index: number): void {
    this.scrollToSeq(this.source.seqAt(index));
  }

  /**
   * Brings line `seq` into view, centred, and keeps it there while rows
   * above it load, fold or are measured, until the user scrolls.
   */
  scrollToSeq(seq: number): void {
    this.setFollowing(false);
    this.pending = { seq, tries: 0, ok: 0, align: "center" };
    this.request();
  }

  /** Turns follow mode on and goes to the end. */
  follow(): void {
    this.pending = null;
    this.setFollowing(true);
    this.request();
  }

  /** The row index at the top of the screen. */
  topIndex(): number {
    const top = this.scroller.scrollTop;
    const item = this.virtualizer.getVirtualItemForOffset(top);
    if (!item) return 0;
    const within = Math.floor((top - item.start) / this.rowHeight);
    return Math.min(
      this.source.count() - 1,
      item.index * BLOCK + Math.max(0, within),
    );
  }

  /** The element of row `index` if it is rendered. */
  rowElement(index: number): HTMLElement | null {
    const block = this.blocks.get(Math.floor(index / BLOCK));
    const row = block?.el.children[index % BLOCK];
    return row instanceof HTMLElement ? row : null;
  }

  private blockRows(b: number): number {
    return Math.max(0, Math.min(BLOCK, this.source.count() - b * BLOCK));
  }

  private render(): void {
    const count = this.source.count();
    const blockCount = Math.ceil(count / BLOCK);
    if (this.virtualizer.options.count !== blockCount) {
      this.virtualizer.setOptions({
        ...this.virtualizer.options,
        count: blockCount,
      });
    }
    this.virtualizer._willUpdate();
    if (this.pending) this.applyPendingScroll();

    const items = this.virtualizer.getVirtualItems();
    this.spacer.style.height = `${this.virtualizer.getTotalSize()}px`;
    const seen = new Set<number>();
    for (const item of items) {
      const b = item.index;
      seen.add(b);
      const sig = this.source.signature(b);
      let block = this.blocks.get(b);
      if (!block) {
        const el = document.createElement("div");
        el.className = "block";
        el.dataset.index = String(b);
        this.spacer.append(el);
        block = { el, sig: "" };
        this.blocks.set(b, block);
      }
      block.el.style.transform = `translateY(${item.start}px)`;
      if (block.sig !== sig) {
        block.sig = sig;
        block.el.textContent = "";
        this.source.renderRows(
          block.el,
          b * BLOCK,
          Math.min(count, (b + 1) * BLOCK),
        );
        this.virtualizer.measureElement(block.el);
      }
    }
    for (const [b, block] of this.blocks) {
      if (!seen.has(b)) {
        block.el.remove();
        this.blocks.delete(b);
      }
    }

    // Measuring may have changed the total: size the spacer before sticking.
    this.spacer.style.height = `${this.virtualizer.getTotalSize()}px`;
    if (this.following) {
      const top = this.scroller.scrollHeight - this.scroller.clientHeight;
      this.lastAutoTop = top;
      if (Math.abs(this.scroller.scrollTop - top) > 1) {
        this.scroller.scrollTop = top;
      }
    }
    const first = items[0];
    const last = items.at(-1);
    if (first && last) {
      this.source.visible(
        first.index * BLOCK,
        Math.min(count, (last.index + 1) * BLOCK),
      );
    } else {
      this.source.visible(0, 0);
    }
  }

  private applyPendingScroll(): void {
    const pending = this.pending;
    if (!pending) return;
    const index = this.source.indexOfSeq(pending.seq);
    const row = this.rowElement(index);
    const half =
      pending.align === "top"
        ? 0
        : (this.scroller.clientHeight - this.rowHeight) / 2;
    let rowTop: number;
    const b = Math.floor(index / BLOCK);
    const blockTop = this.virtualizer.getOffsetForIndex(b, "start");
    const measured =
      row !== null &&
      row.dataset.seq === String(pending.seq) &&
      !row.classList.contains("pending");
    if (row && row.offsetHeight > 0) {
      rowTop = (blockTop?.[0] ?? 0) + row.offsetTop;
    } else {
      rowTop = (blockTop?.[0] ?? 0) + (index % BLOCK) * this.rowHeight;
    }
    const max = Math.max(
      0,
      this.virtualizer.getTotalSize() - this.scroller.clientHeight,
    );
    const top = Math.min(max, Math.max(0, Math.round(rowTop - half)));
    this.lastAutoTop = top;
    if (Math.abs(this.scroller.scrollTop - top) > 1) {
      // Sized first, so that the browser does not clamp the new top.
      this.spacer.style.height = `${this.virtualizer.getTotalSize()}px`;
      this.scroller.scrollTop = top;
      pending.ok = 0;
    } else if (measured) {
      pending.ok++;
    }
    // Settled: the line itself drawn where it belongs for a few frames.
    if (pending.ok >= 3 || ++pending.tries > 600) this.pending = null;
    this.request();
  }

  private onScroll(): void {
    const el = this.scroller;
    const max = el.scrollHeight - el.clientHeight;
    const fromBottom = max - el.scrollTop;
    // Where the view put it (or the browser's clamp after a shrink), or not.
    const ours = Math.abs(el.scrollTop - Math.min(this.lastAutoTop, max)) <= 2;
    const user = this.byUser() || !ours;
    if (this.pending && !ours) {
      this.pending = null;
      this.onUserScrollCb();
    }
    if (fromBottom <= this.rowHeight) {
      if (!this.following && !this.pending && user) this.setFollowing(true);
    } else if (
      this.following &&
      user &&
      // Not a clamp after the content shrank: the user went up.
      el.scrollTop < Math.min(this.lastAutoTop, max) - 2
    ) {
      this.setFollowing(false);
    }
    this.request();
  }

  private setFollowing(on: boolean): void {
    if (this.following === on) return;
    this.following = on;
    this.onFollowChange(on);
  }
}

const SCROLL_KEYS = new Set([
  "ArrowUp",
  "ArrowDown",
  "PageUp",
  "PageDown",
  "Home",
  "End",
  " ",
]);

function measureRowHeight(parent: HTMLElement): number {
  const probe = document.createElement("div");
  probe.className = "row";
  probe.textContent = "0";
  parent.append(probe);
  const h = probe.getBoundingClientRect().height;
  probe.remove();
  return h > 0 ? h : 18;
}
