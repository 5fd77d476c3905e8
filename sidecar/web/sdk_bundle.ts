/**
 * A Bun macro: the SDK (`mod.ts`) bundled for browsers, as one ES module of
 * text. `sidecar/web/http.ts` imports it `with { type: "macro" }`, so the bundle
 * is built when ampd is compiled (`bun build --compile`) and embedded in the
 * binary; ampd serves it at `GET /ampbus.js`. Bun forbids `Bun.build` inside
 * a macro (the bundler would wait on itself), hence the child `bun build`.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** The browser bundle of the SDK, minified, as text. */
export function sdkBundle(): string {
  const entry = fileURLToPath(new URL("../../mod.ts", import.meta.url));
  const r = Bun.spawnSync([process.execPath, "build", entry, "--target=browser", "--format=esm", "--minify"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`bundling the SDK for browsers failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}
