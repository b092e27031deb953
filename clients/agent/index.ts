/**
 * @module The edgetail agent for any runtime with fetch and
 * CompressionStream (Node 20, Workers, Deno, browsers). Node programs
 * usually want `clients/agent/node` (spilling, exit hooks) instead.
 */
export { Agent } from "./agent";
export type { AgentLine, LineDefaults } from "./batch";
export { AgentError, type AgentErrorCode } from "./errors";
export {
  AGENT_DEFAULTS,
  AgentOptionError,
  type AgentOptions,
  type DeliveredInfo,
} from "./options";
export type { Discarded, Entry, LineQueue } from "./queue";
export { MemoryQueue } from "./queue";
export {
  type CloseReport,
  type CompleteStatus,
  describeProblems,
  type Undelivered,
} from "./report";
export type { TextWriter } from "./text";
export type { RetryInfo } from "./transport";
