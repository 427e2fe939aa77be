// Render media/icon.svg to media/icon.png (128x128, the Marketplace icon) with headless Chromium.
//   node scripts/make-icon.mjs --chromium /usr/bin/chromium --puppeteer DIR   (see scripts/codeserver-env.sh)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const arg = (name) => process.argv[process.argv.indexOf(`--${name}`) + 1];
const puppeteer = createRequire(join(resolve(arg("puppeteer")), "noop.js"))("puppeteer-core");
const browser = await puppeteer.launch({
  executablePath: arg("chromium"),
  headless: true,
  userDataDir: mkdtempSync(join(tmpdir(), "icon-")),
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage();
await page.setViewport({ width: 128, height: 128 });
await page.setContent(`<html><body style="margin:0;background:transparent">${readFileSync("media/icon.svg", "utf8")}</body></html>`);
await page.screenshot({ path: "media/icon.png", omitBackground: true, clip: { x: 0, y: 0, width: 128, height: 128 } });
await browser.close();
