// Put the server into the extension: a wheel of the proactive-ls package of this repository in
// server/, and server/manifest.json naming it. On first start the extension installs it into an
// environment of its own (src/server.ts). Needs a Python 3.11+ with pip: $PYTHON, else python3.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const out = resolve(here, "..", "server");
const python = process.env.PYTHON || "python3";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(python, ["-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "--wheel-dir", out, repo], {
  stdio: ["ignore", "inherit", "inherit"],
});
const wheels = readdirSync(out).filter((f) => f.endsWith(".whl"));
if (wheels.length !== 1) throw new Error(`expected one wheel in ${out}, found ${wheels.join(", ") || "none"}`);
const wheel = wheels[0];
const version = wheel.split("-")[1];
writeFileSync(join(out, "manifest.json"), JSON.stringify({ wheel, version }, null, 1) + "\n");
console.log(`bundle-server: ${wheel}`);
