// Real-host smoke test: the packaged extension in code-server (a real VS Code workbench), driven by
// headless Chromium. Not part of `npm test`; see the README ("Smoke test in code-server") for setup.
//
//   node scripts/smoke-code-server.mjs --code-server DIR/node_modules/.bin/code-server \
//        --vsix proactive-ls-0.1.0.vsix --python /path/.venv/bin/python [--chromium /usr/bin/chromium]
//
// It makes a project whose test really fails, runs pytest in the integrated terminal (shell
// integration reports the command), waits for the proposal notification, clicks Accept, and checks
// that test_calc.py is open on the failing line and that the feedback log has the accepted record.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const codeServer = args["code-server"];
const vsix = args.vsix;
const python = args.python;
const chromium = args.chromium ?? "/usr/bin/chromium";
const port = Number(args.port ?? 18765);
if (!codeServer || !vsix || !python) {
  console.error("usage: --code-server PATH --vsix FILE --python PATH [--chromium PATH] [--port N] [--puppeteer DIR]");
  process.exit(2);
}
const require = createRequire(join(args.puppeteer ?? process.cwd(), "noop.js"));
const puppeteer = require("puppeteer-core");

const root = mkdtempSync(join(tmpdir(), "proactive-smoke-"));
const project = join(root, "project");
const userData = join(root, "user-data");
const extDir = join(root, "extensions");
const feedback = join(root, "feedback.jsonl");
const shots = args.screenshots ?? root;
mkdirSync(join(project, "tests"), { recursive: true });
mkdirSync(join(userData, "User"), { recursive: true });
writeFileSync(join(project, "pyproject.toml"), '[project]\nname = "calc"\nversion = "0"\n\n[tool.pytest.ini_options]\npythonpath = ["."]\n');
writeFileSync(join(project, "calc.py"), 'def mean(values):\n    """The arithmetic mean."""\n    return sum(values) / (len(values) + 1)\n');
const TEST = "from calc import mean\n\n\ndef test_mean_of_three():\n    values = [1, 2, 3]\n    assert mean(values) == 2\n";
writeFileSync(join(project, "tests", "test_calc.py"), TEST);
const failingLine = TEST.split("\n").findIndex((l) => l.trim().startsWith("assert")) + 1;
execFileSync("git", ["init", "-q", project]);
writeFileSync(
  join(userData, "User", "settings.json"),
  JSON.stringify(
    {
      "security.workspace.trust.enabled": false,
      "workbench.startupEditor": "none",
      "terminal.integrated.defaultProfile.linux": "bash",
      "terminal.integrated.shellIntegration.enabled": true,
      "proactive.serverCommand": python,
      "proactive.serverArgs": ["-m", "proactive_ls", "serve", "--feedback-log", feedback, "--log-file", join(root, "server.log")],
      "proactive.settings": { quietPeriodMs: 50, minIntervalS: 0, ignoreAfterS: 600 },
    },
    null,
    1,
  ),
);

const env = { ...process.env, XDG_CONFIG_HOME: join(root, "config"), XDG_DATA_HOME: join(root, "data") };
execFileSync(codeServer, ["--user-data-dir", userData, "--extensions-dir", extDir, "--install-extension", vsix], { env, stdio: "inherit" });
const server = spawn(
  codeServer,
  ["--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--user-data-dir", userData, "--extensions-dir", extDir, "--disable-telemetry", project],
  { env, stdio: ["ignore", "pipe", "pipe"] },
);
server.stdout.on("data", (d) => process.stdout.write(`[code-server] ${d}`));
server.stderr.on("data", (d) => process.stderr.write(`[code-server] ${d}`));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

let browser;
let ok = false;
try {
  await until("code-server to listen", async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60000);
  browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(project)}`, { waitUntil: "domcontentloaded" });
  await until("the workbench", () => page.$(".monaco-workbench .part.statusbar"), 90000);
  // The extension's status bar item appears once it has activated and started the server.
  await until("the Proactive status bar item", () => page.$('.statusbar-item[id$="proactive-ls.proactive-ls"], .statusbar-item a[aria-label*="Proactive"], .statusbar-item[aria-label*="Proactive"]'), 60000).catch(async (e) => {
    await page.screenshot({ path: join(shots, "smoke-no-status.png") });
    throw e;
  });

  // Open the integrated terminal and run the failing tests in it.
  await page.keyboard.down("Control");
  await page.keyboard.press("Backquote");
  await page.keyboard.up("Control");
  await until("the terminal", () => page.$(".terminal-wrapper .xterm-helper-textarea"), 30000);
  await sleep(3000); // let bash start and shell integration load
  await page.focus(".terminal-wrapper .xterm-helper-textarea");
  await page.keyboard.type(`${python} -m pytest -q -p no:cacheprovider\n`, { delay: 5 });

  const toast = await until(
    "the proposal notification",
    async () => {
      const handles = await page.$$(".notification-toast");
      for (const h of handles) {
        const text = await h.evaluate((el) => el.textContent ?? "");
        if (text.includes("test_mean_of_three") || text.includes("test_calc.py")) return h;
      }
      return null;
    },
    90000,
  );
  console.log("notification:", await toast.$eval(".notification-list-item-message", (el) => el.innerText));
  await page.screenshot({ path: join(shots, "smoke-proposal.png") });
  const buttons = await toast.$$("a.monaco-button, .monaco-button");
  const labels = await Promise.all(buttons.map((b) => b.evaluate((el) => el.textContent?.trim())));
  console.log("buttons:", labels);
  const accept = buttons[labels.indexOf("Accept")];
  if (!accept) throw new Error(`no Accept button among ${labels}`);
  await accept.click();

  await until("test_calc.py to be the active editor", async () => {
    const title = await page.$eval(".tabs-container .tab.active", (el) => el.getAttribute("aria-label") ?? el.textContent);
    return title && title.includes("test_calc.py");
  });
  const position = await until("the cursor on the failing line", async () => {
    const text = await page.$eval('.statusbar-item[id="status.editor.selection"]', (el) => el.textContent);
    return text && text.includes(`Ln ${failingLine},`) ? text : null;
  });
  console.log("cursor:", position);
  const item = await page.$eval('.statusbar-item[id$="proactive-ls.proactive-ls"]', (el) => el.getAttribute("aria-label")).catch(() => "?");
  console.log("status bar item:", item);
  await page.screenshot({ path: join(shots, "smoke-accepted.png") });
  const records = await until("the accepted record", async () => {
    if (!existsSync(feedback)) return null;
    const lines = readFileSync(feedback, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    return lines.some((r) => r.outcome === "accepted") ? lines : null;
  });
  console.log("feedback:", records.map((r) => `${r.outcome}: ${r.task}`));

  // Diagnostics of another extension (the built-in JSON support) reach the server: errors left in
  // a saved file are proposed.
  const toastFor = (needle) =>
    until(
      `a notification mentioning ${needle}`,
      async () => {
        for (const h of await page.$$(".notification-toast")) {
          const text = await h.$eval(".notification-list-item-message", (el) => el.innerText).catch(() => "");
          if (text.includes(needle)) return [h, text];
        }
        return null;
      },
      60000,
    );
  writeFileSync(join(project, "broken.json"), '{\n  "name": "calc",\n  "version": 1,,\n  "tags": [1 2]\n}\n');
  await page.keyboard.down("Control");
  await page.keyboard.press("KeyP");
  await page.keyboard.up("Control");
  await sleep(800);
  await page.keyboard.type("broken.json", { delay: 20 });
  await sleep(800);
  await page.keyboard.press("Enter");
  await until("broken.json to open", async () => {
    const title = await page.$eval(".tabs-container .tab.active", (el) => el.getAttribute("aria-label") ?? el.textContent);
    return title && title.includes("broken.json");
  });
  const problems = await until("the JSON errors in the Problems badge", async () => {
    const text = await page.$eval('.statusbar-item[id="status.problems"]', (el) => el.innerText);
    return text && /^[1-9]/.test(text.trim()) ? text.replace(/\s+/g, " ") : null;
  }, 30000);
  console.log("problems (errors, warnings):", problems);
  await sleep(1500); // past the 500 ms debounce
  await page.keyboard.down("Control");
  await page.keyboard.press("KeyS");
  await page.keyboard.up("Control");
  const [, diagText] = await toastFor("broken.json");
  console.log("diagnostics notification:", diagText);
  await page.screenshot({ path: join(shots, "smoke-diagnostics.png") });
  ok = true;
} catch (err) {
  console.error("SMOKE FAILED:", err.message);
  const page = browser && (await browser.pages())[1];
  if (page) await page.screenshot({ path: join(shots, "smoke-failed.png") }).catch(() => {});
  for (const f of execFileSync("find", [userData, "-name", "*Proactive.log"]).toString().split("\n").filter(Boolean)) {
    console.error(`--- ${f}\n${readFileSync(f, "utf8").slice(-3000)}`);
  }
} finally {
  if (browser) await browser.close();
  server.kill();
}
console.log(ok ? `smoke passed (screenshots in ${shots})` : "smoke failed");
process.exit(ok ? 0 : 1);
