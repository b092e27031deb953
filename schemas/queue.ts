/**
 * @module What the Deployment object sends to the Queue for ClickHouse.
 */
import type { StoredLine } from "./line";

export interface LinesQueueMessage {
  v: 1;
  tenant: string;
  deployment_id: string;
  epoch: number;
  lines: StoredLine[];
}
