// End-to-end test of the packaged extension in a real VS Code workbench: code-server's extension
// host, driven by headless Chromium through puppeteer-core. Run by tests/test_vscode_e2e.py (the
// README's test command); `bash scripts/codeserver-env.sh` installs what it needs.
//
//   node test/e2e/run.mjs --code-server ENTRY.js --node NODE24 --chromium PATH --puppeteer DIR \
//        --vsix proactive-ls.vsix --python PY [--screenshots DIR] [--late-answers yes|no]
//
// What it checks, in this order, each step waiting on state (never on time):
//  1. the .vsix installs, the bundled server is set up and started with `proactive.python`
//     (status bar: starting, then on);
//  2. a failing pytest run in the integrated terminal becomes a notification titled with the task;
//     Accept opens the failing line; the outcome is in the feedback log set by `proactive.feedbackLog`;
//     the view lists it as accepted;
//  3. a second run, Reject: recorded, the view says rejected;
//  4. typed settings change without a reload: a new `proactive.feedbackLog` and `proactive.ignoreAfterS`,
//     typed into the Settings editor, reach the server (the next unanswered proposal is ignored, in the
//     new log); the view re-shows it; then a late answer with the accept keybinding;
//  5. nothing is lost: the server is restarted behind a gate, a failing run finishes while it is
//     starting, and its proposal arrives once the server is up;
//  6. the status bar menu: Snooze 15 minutes (status: snoozed), Resume when the server has it;
//  7. turned off for the workspace (status: off), then on again.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const required of ["code-server", "node", "chromium", "puppeteer", "vsix", "python"]) {
  if (!args[required]) {
    console.error(`e2e: missing --${required}`);
    process.exit(2);
  }
}
const require = createRequire(join(resolve(args.puppeteer), "noop.js"));
const puppeteer = require("puppeteer-core");
const lateAnswers = args["late-answers"] === "yes";

const root = mkdtempSync(join(tmpdir(), "proactive-e2e-"));
const project = join(root, "project");
const userData = join(root, "user-data");
const extDir = join(root, "extensions");
// In the server's data folder ($XDG_DATA_HOME/proactive-ls): a log a client sets must be there or in
// the workspace (a path elsewhere needs the user's local choice, serve --feedback-log).
const feedback1 = join(root, "data", "proactive-ls", "feedback-1.jsonl");
const feedback2 = join(root, "data", "proactive-ls", "feedback-2.jsonl");
const shots = args.screenshots ? resolve(args.screenshots) : join(root, "screenshots");
mkdirSync(shots, { recursive: true });
mkdirSync(join(project, "tests"), { recursive: true });
mkdirSync(join(userData, "User"), { recursive: true });
writeFileSync(join(project, "pyproject.toml"), '[project]\nname = "calc"\nversion = "0"\n\n[tool.pytest.ini_options]\npythonpath = ["."]\n');
writeFileSync(join(project, "calc.py"), 'def mean(values):\n    """The arithmetic mean."""\n    return sum(values) / (len(values) + 1)\n');
const TEST = "from calc import mean\n\n\ndef test_mean_of_three():\n    values = [1, 2, 3]\n    assert mean(values) == 2\n";
writeFileSync(join(project, "tests", "test_calc.py"), TEST);
const failingLine = TEST.split("\n").findIndex((l) => l.trim().startsWith("assert")) + 1;
execFileSync("git", ["init", "-q", project]);

const baseSettings = {
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "terminal.integrated.defaultProfile.linux": "bash",
  "terminal.integrated.shellIntegration.enabled": true,
  "editor.minimap.enabled": false,
  "chat.disableAIFeatures": true,
  "terminal.integrated.gpuAcceleration": "off",
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "proactive.python": args.python,
  "proactive.feedbackLog": feedback1,
  "proactive.quietPeriodMs": 50,
  "proactive.minIntervalS": 0,
  "proactive.rejectCooldownS": 0,
  "proactive.rejectMemoryS": 0,
  "proactive.ignoreAfterS": 600,
};
const settingsFile = join(userData, "User", "settings.json");
writeFileSync(settingsFile, JSON.stringify(baseSettings, null, 1));

const env = {
  ...process.env,
  XDG_CONFIG_HOME: join(root, "config"),
  XDG_DATA_HOME: join(root, "data"),
  PROACTIVE_LS_E2E: "1",
  // The project's tests run with this Python (it has pytest); the server's own environment is separate.
  PATH: `${join(args.python, "..")}:${process.env.PATH}`,
};
const node = args.node;
const codeServer = args["code-server"];

const step = (s) => console.log(`e2e: ${s}`);
const freePort = () =>
  new Promise((res) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });

async function until(what, fn, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function outputLog() {
  const logs = join(userData, "logs");
  if (!existsSync(logs)) return "";
  const found = execFileSync("find", [logs, "-name", "*-Proactive.log"], { encoding: "utf8" }).split("\n").filter(Boolean);
  return found.map((f) => readFileSync(f, "utf8")).join("\n");
}

function records(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

step(`installing ${args.vsix}`);
execFileSync(node, [codeServer, "--user-data-dir", userData, "--extensions-dir", extDir, "--install-extension", resolve(args.vsix)], {
  env,
  stdio: "inherit",
});
const port = await freePort();
const server = spawn(
  node,
  [
    codeServer,
    "--auth", "none",
    "--bind-addr", `127.0.0.1:${port}`,
    "--user-data-dir", userData,
    "--extensions-dir", extDir,
    "--disable-telemetry",
    "--disable-workspace-trust",
    "--disable-update-check",
    project,
  ],
  { env, stdio: ["ignore", "pipe", "pipe"] },
);
let serverLog = "";
server.stdout.on("data", (d) => (serverLog += d));
server.stderr.on("data", (d) => (serverLog += d));

let browser;
let page;
let failed = false;
try {
  await until("code-server to listen", async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000);
  browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    userDataDir: join(root, "chromium"),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(project)}`, { waitUntil: "domcontentloaded" });
  await until("the workbench", () => page.$(".monaco-workbench .part.statusbar"), 120_000);

  // --- helpers over the workbench DOM -------------------------------------------------------------
  const statusLabel = () =>
    page.evaluate(() => {
      for (const el of document.querySelectorAll(".statusbar-item")) {
        const a = el.querySelector("a") ?? el;
        const label = a.getAttribute("aria-label") ?? el.getAttribute("aria-label") ?? "";
        if (label.startsWith("Proactive")) return { label, text: (a.textContent ?? "").trim() };
      }
      return null;
    });
  const statusIs = async (re) => {
    const s = await statusLabel();
    return s && re.test(s.label) ? s : null;
  };
  const toastWith = (needle) =>
    page.evaluateHandle((n) => {
      for (const t of document.querySelectorAll(".notification-toast")) if ((t.textContent ?? "").includes(n)) return t;
      return null;
    }, needle);
  const waitToast = async (needle, timeoutMs = 90_000) =>
    until(
      `a notification with "${needle}"`,
      async () => {
        const h = await toastWith(needle);
        return (await h.evaluate((el) => el !== null)) ? h : null;
      },
      timeoutMs,
    );
  const clickButton = async (toast, label) => {
    const clicked = await toast.evaluate((el, l) => {
      for (const b of el.querySelectorAll(".monaco-button")) {
        if ((b.textContent ?? "").trim() === l) {
          b.click();
          return true;
        }
      }
      return false;
    }, label);
    if (!clicked) throw new Error(`no "${label}" button on the notification`);
  };
  const terminalText = () => page.evaluate(() => document.querySelector(".terminal-wrapper .xterm-rows")?.textContent ?? "");
  const runInTerminal = async (line) => {
    await page.focus(".terminal-wrapper .xterm-helper-textarea");
    await page.keyboard.type(`${line}\n`, { delay: 2 });
  };
  const pytest = "python -m pytest -q -p no:cacheprovider";
  const viewRows = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('.pane-body .monaco-list-row')]
        .filter((r) => r.closest(".pane")?.querySelector(".pane-header")?.textContent?.includes("Proposals"))
        .map((r) => r.getAttribute("aria-label") ?? r.textContent ?? ""),
    );
  const quickPick = async (open, choose, title) => {
    await open();
    await until(`the quick pick "${title}"`, () =>
      page.evaluate((t) => {
        const w = document.querySelector(".quick-input-widget");
        if (!w || w.style.display === "none") return false;
        const input = w.querySelector(".quick-input-box input");
        return document.activeElement === input && (w.querySelector(".quick-input-title")?.textContent ?? "").includes(t);
      }, title),
    20_000);
    if (choose) {
      // Typing filters the list as a user would; Enter picks the first match.
      await until(`the "${choose}" item`, () =>
        page.evaluate((c) => [...document.querySelectorAll(".quick-input-widget .quick-input-list .monaco-list-row")].some((r) => (r.getAttribute("aria-label") ?? "").includes(c)), choose),
      );
      await page.keyboard.type(choose, { delay: 2 });
      await until(`"${choose}" to be the first item`, () =>
        page.evaluate((c) => (document.querySelector(".quick-input-widget .quick-input-list .monaco-list-row")?.getAttribute("aria-label") ?? "").includes(c), choose),
      );
      await page.keyboard.press("Enter");
    }
  };
  const palette = async (title) => {
    await page.keyboard.press("F1");
    await until("the command palette", () => page.$(".quick-input-widget .quick-input-box input"), 20_000);
    await page.keyboard.type(title, { delay: 2 });
    await until(`the command "${title}"`, () =>
      page.evaluate((t) => [...document.querySelectorAll(".quick-input-widget .monaco-list-row")].some((r) => (r.getAttribute("aria-label") ?? "").includes(t)), title),
    );
    await page.keyboard.press("Enter");
  };

  /** Sets a setting the way a user does: in the Settings editor, found by its id, typed into its own input. */
  const setSetting = async (id, value) => {
    await palette("Preferences: Open Settings (UI)");
    await until("the Settings editor", () => page.$(".settings-editor .settings-header .suggest-input-container"), 20_000);
    await page.click(".settings-editor .settings-header .suggest-input-container");
    await page.keyboard.down("Control");
    await page.keyboard.press("KeyA");
    await page.keyboard.up("Control");
    await page.keyboard.type(`@id:${id}`, { delay: 2 });
    // The Settings editor titles a setting with its key in words: proactive.feedbackLog is "Feedback Log".
    const words = id.split(".").pop().replace(/([a-z])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase());
    const input = await until(`the input of ${id}`, async () => {
      const h = await page.evaluateHandle((w) => {
        for (const item of document.querySelectorAll(".settings-editor .setting-item-contents")) {
          const label = item.querySelector(".setting-item-label")?.textContent ?? "";
          const inp = item.querySelector(".setting-item-control input");
          if (inp && label.trim() === w) return inp;
        }
        return null;
      }, words);
      return (await h.evaluate((el) => el !== null)) ? h : null;
    }, 20_000);
    await input.click({ clickCount: 3 });
    await page.keyboard.down("Control");
    await page.keyboard.press("KeyA");
    await page.keyboard.up("Control");
    await page.keyboard.type(String(value), { delay: 1 });
    await page.keyboard.press("Tab");
    await until(`${id} = ${value} in settings.json`, () => JSON.parse(readFileSync(settingsFile, "utf8"))[id] === value, 20_000);
    await page.keyboard.down("Control");
    await page.keyboard.press("KeyW");
    await page.keyboard.up("Control");
  };

  // --- 1. the bundled server starts --------------------------------------------------------------
  step("waiting for the extension's status bar item (bundled server: first start creates its environment)");
  const first = await until("the Proactive status bar item", statusLabel, 60_000);
  step(`status bar: ${first.text} / ${first.label}`);
  await until("the server to be on", () => statusIs(/Proactive: on/), 300_000);
  step("status bar: on");

  // --- 2. failing run -> notification -> Accept opens the failing line ---------------------------
  await page.keyboard.down("Control");
  await page.keyboard.press("Backquote");
  await page.keyboard.up("Control");
  await until("the terminal", () => page.$(".terminal-wrapper .xterm-helper-textarea"), 30_000);
  await until("a shell prompt", async () => /[\w~/\]][$#] /.test(await terminalText()), 30_000);
  await runInTerminal(pytest);
  let toast = await waitToast("test_mean_of_three");
  const message = await toast.evaluate((el) => el.querySelector(".notification-list-item-message")?.textContent ?? "");
  step(`notification: ${message}`);
  if (!/test_mean_of_three/.test(message.split("—")[0])) throw new Error(`the notification's title does not name the task: ${message}`);
  await until("the notification to be fully shown", () =>
    toast.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return r.bottom <= window.innerHeight - 20 && getComputedStyle(el).opacity === "1";
    }),
  );
  await page.screenshot({ path: join(shots, "vscode-notification.png") });
  await clickButton(toast, "Accept");
  await until("test_calc.py to be the active editor", async () => {
    const title = await page.$eval(".tabs-container .tab.active", (el) => el.getAttribute("aria-label") ?? el.textContent);
    return title && title.includes("test_calc.py");
  });
  await until(`the cursor on line ${failingLine}`, async () => {
    const text = await page.$eval('.statusbar-item[id="status.editor.selection"]', (el) => el.textContent);
    return text && text.includes(`Ln ${failingLine},`);
  });
  await until("the accepted record in proactive.feedbackLog", () => records(feedback1).some((r) => r.outcome === "accepted"));
  step("accepted: the failing line is open and the outcome is logged");

  // The view lists it.
  await page.click('.activitybar .action-item a[aria-label^="Proactive"]').catch(async () => palette("Proactive: Focus on Proposals View"));
  await until("the view row (accepted)", async () => (await viewRows()).some((r) => /accepted/.test(r)), 20_000);
  await until("the status bar back to on", () => statusIs(/Proactive: on/), 20_000);

  // --- 3. reject ----------------------------------------------------------------------------------
  await runInTerminal(pytest);
  toast = await until("a new notification", async () => {
    const t = await waitToast("test_mean_of_three");
    return (await t.evaluate((el) => [...el.querySelectorAll(".monaco-button")].some((b) => b.textContent?.trim() === "Reject"))) ? t : null;
  });
  await until("the status bar to count it", () => statusIs(/1 proposal waiting/), 20_000);
  await clickButton(toast, "Reject");
  await until("the rejected record", () => records(feedback1).some((r) => r.outcome === "rejected"));
  await until("the view row (rejected)", async () => (await viewRows()).some((r) => /rejected/.test(r)), 20_000);
  step("rejected: logged, the view and the status bar follow");

  // --- 4. typed settings reach the server without a reload; a late answer -------------------------
  await setSetting("proactive.feedbackLog", feedback2);
  await setSetting("proactive.ignoreAfterS", 2);
  // proactive.status reports the log the server writes to; the status bar's tooltip shows it.
  await until("the server to report the new feedback log", () => statusIs(new RegExp(`Feedback log: ${feedback2.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`)), 30_000);
  await runInTerminal(pytest);
  await waitToast("test_mean_of_three");
  await until("the unanswered proposal recorded as ignored in the new log", () => records(feedback2).some((r) => r.outcome === "ignored"), 60_000);
  await until("the view row (ignored)", async () => (await viewRows()).some((r) => /ignored/.test(r)), 20_000);
  step("settings: the new feedbackLog and ignoreAfterS reached the server without a reload");
  // Unfold the newest proposal: the events that led to it.
  await page.evaluate(() => {
    const row = [...document.querySelectorAll(".pane-body .monaco-list-row")].find((r) => /ignored/.test(r.getAttribute("aria-label") ?? ""));
    row?.querySelector(".monaco-tl-twistie")?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  });
  await until("the events under it", async () => (await viewRows()).length > 3, 10_000).catch(() => null);
  await page.screenshot({ path: join(shots, "vscode-view.png") });
  // Re-shown from the view: clear the notifications, click the row, the notification is back.
  await palette("Notifications: Clear All Notifications");
  await until("no notification left", async () => (await page.$$(".notification-toast")).length === 0, 20_000);
  await page.evaluate(() => {
    const row = [...document.querySelectorAll(".pane-body .monaco-list-row")].find((r) => /ignored/.test(r.getAttribute("aria-label") ?? ""));
    row?.querySelector(".label-name, .monaco-highlighted-label")?.dispatchEvent(new MouseEvent("click", { bubbles: true }));
  });
  await waitToast("test_mean_of_three", 20_000);
  step("re-shown: clicking the proposal in the view brings its notification back");
  // A late answer with the default keybinding (Accept the latest proposal).
  await page.click(".monaco-workbench .part.editor");
  await page.keyboard.down("Control");
  await page.keyboard.down("Alt");
  await page.keyboard.down("Shift");
  await page.keyboard.press("KeyY");
  await page.keyboard.up("Shift");
  await page.keyboard.up("Alt");
  await page.keyboard.up("Control");
  if (lateAnswers) {
    await until("the late accept in the log", () => records(feedback2).some((r) => r.outcome === "accepted"), 30_000);
    step("late answer: recorded as accepted");
  } else {
    await waitToast("does not take late answers", 30_000);
    step("late answer: this server refuses late answers; the extension says so plainly");
  }

  // --- 5. nothing is lost: an event while the server (re)starts is queued -------------------------
  const envPython = join(userData, "User", "globalStorage", "proactive-ls.proactive-ls", "server-env", "bin", "python");
  if (!existsSync(envPython)) throw new Error(`no managed environment at ${envPython}`);
  const gate = join(root, "gate");
  const gateScript = join(root, "gated-server.sh");
  writeFileSync(gateScript, `#!/bin/sh\n# holds the server back until the test opens the gate\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\nexec '${envPython}' -m proactive_ls serve\n`, { mode: 0o755 });
  await setSetting("proactive.ignoreAfterS", 300);
  await setSetting("proactive.serverCommand", gateScript);
  await until("the status bar to say starting", () => statusIs(/starting/), 30_000);
  const before = records(feedback2).length;
  writeFileSync(join(project, "tests", "test_other.py"), "def test_other_thing():\n    assert 1 + 1 == 3\n");
  await runInTerminal(`${pytest} tests/test_other.py`);
  // The extension's output channel (a log file of the workbench) says when it queued the event.
  await until("the run to be queued while the server starts", () => /server not ready: queued ".*test_other\.py"/.test(outputLog()), 60_000);
  if (!(await statusIs(/starting/))) throw new Error("the server was up before the run ended: the queue was not exercised");
  writeFileSync(gate, "");
  toast = await waitToast("test_other_thing", 90_000);
  step("queued: the run that ended while the server started was delivered after the restart");
  await clickButton(toast, "Reject");
  await until("its rejection", () => records(feedback2).length > before && records(feedback2).some((r) => r.outcome === "rejected"));

  // --- 6. status bar menu: snooze, resume ----------------------------------------------------------
  await until("on", () => statusIs(/Proactive: on/), 20_000);
  await quickPick(() => page.click('.statusbar-item a[aria-label^="Proactive"]'), undefined, "Proactive —");
  await page.screenshot({ path: join(shots, "vscode-status-menu.png") });
  const items = await page.evaluate(() => [...document.querySelectorAll(".quick-input-widget .monaco-list-row")].map((r) => r.getAttribute("aria-label")));
  step(`menu: ${items.join(" | ")}`);
  await page.keyboard.press("Escape");
  await until("the menu to close", () => page.evaluate(() => document.querySelector(".quick-input-widget")?.style.display === "none"));
  await quickPick(() => page.click('.statusbar-item a[aria-label^="Proactive"]'), "Snooze", "Proactive —");
  await quickPick(async () => {}, "15 minutes", "snooze for");
  const snoozed = await until("the status bar to say snoozed", () => statusIs(/snoozed/), 20_000);
  step(`snoozed: ${snoozed.text}`);
  await page.screenshot({ path: join(shots, "vscode-status-snoozed.png"), clip: { x: 640, y: 770, width: 640, height: 30 } });
  await quickPick(() => page.click('.statusbar-item a[aria-label^="Proactive"]'), "Resume", "Proactive —");
  if (lateAnswers) {
    await until("on again", () => statusIs(/Proactive: on/), 20_000);
    step("resumed");
  } else {
    await waitToast("cannot resume", 20_000);
    step("resume: this server has no proactive.resume; the extension says so");
  }

  // --- 7. off for this workspace, on again --------------------------------------------------------
  await palette("Proactive: Turn off for this workspace");
  await until("the status bar to say off", () => statusIs(/turned off/), 20_000);
  await palette("Proactive: Turn on");
  await until("on after turning on", () => statusIs(/Proactive: (on|snoozed)/), 60_000);
  step("off for the workspace and on again");
  console.log("e2e: 7 passed, 0 failed");
} catch (err) {
  failed = true;
  console.error(`e2e: FAILED: ${err.stack ?? err}`);
  if (page) await page.screenshot({ path: join(shots, "failure.png") }).catch(() => {});
  console.error(`e2e: screenshots and logs in ${root}`);
  console.error(serverLog.slice(-4000));
} finally {
  if (browser) await browser.close().catch(() => {});
  server.kill("SIGTERM");
  if (!failed && !args["keep"]) rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}
process.exit(failed ? 1 : 0);
