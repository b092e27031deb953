#!/usr/bin/env node
import { spawn } from "node:child_process";
// The `edgetail` bin: runs the TypeScript CLI (clients/cli/main.ts)
// through tsx, a devDependency, so it works from a checkout after
// `npm ci` with no build step: `npx edgetail --help`.
import module, { createRequire } from "node:module";

const main = new URL("./main.ts", import.meta.url);

if (typeof module.register === "function") {
  // Node 20.6+: load TypeScript in this process.
  const { register } = await import("tsx/esm/api");
  register();
  await import(main.href);
} else {
  // Older Node: tsx's own CLI in a child process, which relays signals.
  const tsx = createRequire(import.meta.url).resolve("tsx/cli");
  const child = spawn(
    process.execPath,
    [tsx, main.pathname, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  child.on("exit", (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
