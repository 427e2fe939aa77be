/**
 * Where the server comes from: `proactive.serverCommand` when the user set one, else the server
 * bundled in the .vsix (a wheel), installed once into an environment the extension manages, made
 * with a compatible Python — the one set in `proactive.python`, else the Python extension's
 * selected interpreter, else python3 on PATH. The same scheme as Microsoft's Python-tool extensions.
 */

import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { MIN_PYTHON, parseInterpreterProbe } from "./logic";

export interface ServerLaunch {
  command: string;
  args: string[];
  /** Where it came from, for the output channel and the status tooltip. */
  source: string;
  /** The Python of the managed environment (runs `-m proactive_ls report` and the like), if any. */
  python?: string;
}

/** No usable interpreter: the message to show, with what was tried. */
export class NoInterpreterError extends Error {}

interface BundleManifest {
  wheel: string;
  version: string;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/** The interpreter the Python extension has selected for this workspace, if it is installed. */
async function pythonExtensionInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension("ms-python.python");
  if (!ext) return undefined;
  try {
    const api = (await ext.activate()) as {
      environments?: {
        getActiveEnvironmentPath(r?: vscode.Uri): { path: string };
        resolveEnvironment(p: { path: string } | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
      };
    };
    const envs = api?.environments;
    if (!envs) return undefined;
    const active = envs.getActiveEnvironmentPath(resource);
    const resolved = await envs.resolveEnvironment(active);
    return resolved?.executable?.uri?.fsPath ?? active.path;
  } catch {
    return undefined;
  }
}

/** The first candidate that is Python ≥ 3.11 with venv, and what each rejected one was. */
async function findInterpreter(candidates: string[], log: (line: string) => void): Promise<string> {
  const tried: string[] = [];
  for (const candidate of candidates) {
    try {
      const { stdout } = await run(
        candidate,
        ["-c", "import sys, venv; print(sys.version_info[0], sys.version_info[1]); print(sys.executable)"],
        15_000,
      );
      const probe = parseInterpreterProbe(stdout);
      if (probe && probe.ok) return probe.executable;
      tried.push(`${candidate} (${probe ? `Python ${probe.version}, needs ${MIN_PYTHON.join(".")}+` : "not Python"})`);
    } catch (err) {
      tried.push(`${candidate} (${(err as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : "no venv module or failed"})`);
    }
  }
  log(`no usable Python: ${tried.join(", ")}`);
  throw new NoInterpreterError(
    `Proactive needs Python ${MIN_PYTHON.join(".")} or newer to run its server; tried ${tried.join(", ") || "nothing"}.`,
  );
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** A lock directory, so two windows do not build the same environment at once. */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      await fs.mkdir(lock);
      break;
    } catch {
      const stat = await fs.stat(lock).catch(() => null);
      if (stat && Date.now() - stat.mtimeMs > 10 * 60_000) await fs.rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { recursive: true, force: true });
  }
}

/**
 * The managed environment with the bundled wheel installed; creates it when missing or when the
 * wheel or the interpreter changed. Returns its Python.
 */
async function managedEnvironment(
  context: vscode.ExtensionContext,
  interpreter: string,
  manifest: BundleManifest,
  log: (line: string) => void,
): Promise<string> {
  const root = context.globalStorageUri.fsPath;
  await fs.mkdir(root, { recursive: true });
  const env = path.join(root, "server-env");
  const python = path.join(env, process.platform === "win32" ? "Scripts/python.exe" : "bin/python");
  const marker = path.join(env, "proactive-ls-installed.json");
  const wanted = JSON.stringify({ wheel: manifest.wheel, interpreter });
  const current = async () => (await fs.readFile(marker, "utf8").catch(() => "")) === wanted && (await exists(python));
  if (await current()) return python;
  return withLock(env, async () => {
    if (await current()) return python;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Proactive: setting up its server (once)…" },
      async (progress) => {
        log(`creating ${env} with ${interpreter}`);
        await fs.rm(env, { recursive: true, force: true });
        progress.report({ message: "creating a Python environment" });
        await run(interpreter, ["-m", "venv", env], 120_000);
        progress.report({ message: `installing proactive-ls ${manifest.version}` });
        const wheel = path.join(context.extensionPath, "server", manifest.wheel);
        const { stdout, stderr } = await run(
          python,
          ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", wheel],
          15 * 60_000,
        ).catch((err: Error & { stderr?: string }) => {
          throw new Error(`pip install of the bundled server failed: ${(err.stderr ?? err.message).trim().slice(-800)}`);
        });
        if (stdout.trim()) log(stdout.trim());
        if (stderr.trim()) log(stderr.trim());
        await fs.writeFile(marker, wanted, "utf8");
        log(`installed proactive-ls ${manifest.version} into ${env}`);
      },
    );
    return python;
  });
}

/** How to start the server; raises NoInterpreterError when there is no usable Python for the bundled one. */
export async function resolveServer(context: vscode.ExtensionContext, log: (line: string) => void): Promise<ServerLaunch> {
  const cfg = vscode.workspace.getConfiguration("proactive");
  const command = cfg.get<string>("serverCommand", "");
  if (command && command.trim()) {
    return { command: command.trim(), args: cfg.get<string[]>("serverArgs", ["serve"]), source: `proactive.serverCommand (${command})` };
  }
  const manifestPath = path.join(context.extensionPath, "server", "manifest.json");
  const manifest = JSON.parse(await fs.readFile(manifestPath, "utf8").catch(() => "null")) as BundleManifest | null;
  if (!manifest) {
    throw new NoInterpreterError("This build of the extension has no bundled server; set proactive.serverCommand.");
  }
  const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
  const candidates: string[] = [];
  const configured = cfg.get<string>("python", "");
  if (configured && configured.trim()) candidates.push(configured.trim());
  const fromExtension = await pythonExtensionInterpreter(resource);
  if (fromExtension) candidates.push(fromExtension);
  candidates.push("python3", "python");
  const interpreter = await findInterpreter(candidates, log);
  const python = await managedEnvironment(context, interpreter, manifest, log);
  return {
    command: python,
    args: ["-m", "proactive_ls", "serve"],
    source: `bundled proactive-ls ${manifest.version} (created with ${interpreter})`,
    python,
  };
}
