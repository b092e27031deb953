import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/** The viewer page, built into web/dist and served as Workers assets. */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
  },
});
