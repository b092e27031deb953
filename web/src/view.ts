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
}

/** Scrolls, follows the live end and renders what is on screen. */
export class LogView {
  readonly rowHeight: number;
  following = true;
  private readonly spacer: HTMLElement;
  private readonly virtualizer: Virtualizer<HTMLElement, HTMLElement>;
  private readonly blocks = new Map<number, { el: HTMLElement; sig: string }>();
  private frame = 0;
  private lastAutoTop = -1;
  private pendingIndex: { index: number; tries: number } | null = null;
  private onFollowChange: (following: boolean) => void = () => {};

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
        if (e.deltaY < 0) this.setFollowing(false);
      },
      { passive: true },
    );
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
    if (anchorIndex !== null && !this.following && !this.pendingIndex) {
      this.scrollToIndex(anchorIndex);
    }
    this.request();
  }

  /** Brings row `index` into view, a third from the top. */
  scrollToIndex(index: number): void {
    this.setFollowing(false);
    this.pendingIndex = { index, tries: 0 };
    this.request();
  }

  /** Turns follow mode on and goes to the end. */
  follow(): void {
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
    if (this.pendingIndex) this.applyPendingScroll();

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
    const pending = this.pendingIndex;
    if (!pending) return;
    const row = this.rowElement(pending.index);
    const third = this.scroller.clientHeight / 3;
    if (row && row.offsetHeight > 0) {
      const block = row.parentElement;
      const blockTop = this.virtualizer.getOffsetForIndex(
        Math.floor(pending.index / BLOCK),
        "start",
      );
      const rowTop = (blockTop?.[0] ?? 0) + row.offsetTop;
      this.lastAutoTop = Math.max(0, rowTop - third);
      this.scroller.scrollTop = this.lastAutoTop;
      if (block && ++pending.tries >= 3) this.pendingIndex = null;
      this.request();
      return;
    }
    const b = Math.floor(pending.index / BLOCK);
    const offset = this.virtualizer.getOffsetForIndex(b, "start");
    const within = (pending.index % BLOCK) * this.rowHeight;
    this.lastAutoTop = Math.max(0, (offset?.[0] ?? 0) + within - third);
    this.scroller.scrollTop = this.lastAutoTop;
    if (++pending.tries > 20) this.pendingIndex = null;
    this.request();
  }

  private onScroll(): void {
    const el = this.scroller;
    const fromBottom = el.scrollHeight - el.scrollTop - el.clientHeight;
    if (fromBottom <= this.rowHeight) {
      if (!this.following && !this.pendingIndex) this.setFollowing(true);
    } else if (
      this.following &&
      // Not a clamp after the content shrank: the user went up.
      el.scrollTop <
        Math.min(this.lastAutoTop, el.scrollHeight - el.clientHeight) - 2
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

function measureRowHeight(parent: HTMLElement): number {
  const probe = document.createElement("div");
  probe.className = "row";
  probe.textContent = "0";
  parent.append(probe);
  const h = probe.getBoundingClientRect().height;
  probe.remove();
  return h > 0 ? h : 18;
}
