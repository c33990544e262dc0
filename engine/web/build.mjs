// Builds the console into dist/ (committed; kuaifan embeds it):
// dist/index.html, dist/assets/console.{js,css} and MapLibre's worker.
// The output depends only on the sources and the locked packages, so CI
// rebuilds it and compares.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
await build({
  entryPoints: { console: "src/main.ts" },
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  outdir: "dist/assets",
  legalComments: "eof",
  logLevel: "warning",
});
await build({
  entryPoints: { console: "src/console.css" },
  bundle: true,
  minify: true,
  outdir: "dist/assets",
  logLevel: "warning",
});
copyFileSync("node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs", "dist/assets/maplibre-gl-worker.mjs");
copyFileSync("src/index.html", "dist/index.html");
