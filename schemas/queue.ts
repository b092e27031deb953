/**
 * @module What the Deployment object sends to the Queue for ClickHouse.
 */
import type { StoredLine } from "./line";

export interface LinesQueueMessage {
  v: 1;
  tenant: string;
  deployment_id: string;
  epoch: number;
  lines: QueuedLine[];
}

/**
 * A stored line plus, when it continues in the next line (`partial`), the
 * start of that next line, so search finds text across the seam.
 */
export interface QueuedLine extends StoredLine {
  search_overlap?: string;
}
