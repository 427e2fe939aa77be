import { strict as assert } from "node:assert";
import { test } from "node:test";
import {
  ACCEPT,
  KeyedDebouncer,
  NOT_NOW,
  OUTPUT_TAIL_BYTES,
  ProposalBook,
  REJECT,
  TailBuffer,
  Timers,
  LATE_ANSWERABLE,
  diagnosticsParams,
  notificationFor,
  parseProposal,
  parseStatus,
  statusView,
  OutboundQueue,
  observationLines,
  serverSettings,
  parseInterpreterProbe,
  terminalCommandParams,
  toLspDiagnostic,
} from "../logic";

/** A fake clock: timers fire only when the test advances time. */
class FakeTimers implements Timers {
  now = 0;
  private next = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at);
      if (due.length === 0) break;
      const [id, t] = due[0];
      this.timers.delete(id);
      this.now = t.at;
      t.fn();
    }
    this.now = until;
  }
}

test("tail buffer keeps everything under the limit, verbatim with escapes", () => {
  const b = new TailBuffer(100);
  b.push("\x1b[31mFAILED\x1b[0m tests/test_a.py::test_x\r\n");
  b.push("1 failed");
  assert.equal(b.text(), "\x1b[31mFAILED\x1b[0m tests/test_a.py::test_x\r\n1 failed");
  assert.equal(b.droppedBytes, 0);
});

test("tail buffer keeps exactly the last bytes across many chunks", () => {
  const b = new TailBuffer(1000);
  let all = "";
  for (let i = 0; i < 500; i++) {
    const line = `line ${i} ${"x".repeat(i % 37)}\n`;
    all += line;
    b.push(line);
  }
  assert.equal(b.byteLength, 1000);
  assert.equal(b.text(), all.slice(-1000));
  assert.equal(b.droppedBytes, Buffer.byteLength(all) - 1000);
});

test("tail buffer: one chunk larger than the limit", () => {
  const b = new TailBuffer(10);
  b.push("abc");
  b.push("0123456789ABCDEFGHIJ");
  assert.equal(b.text(), "ABCDEFGHIJ");
  assert.equal(b.droppedBytes, 13);
});

test("tail buffer never returns a split character", () => {
  const b = new TailBuffer(7);
  b.push("ééééé"); // 10 bytes; the window starts inside the second é
  const t = b.text();
  assert.ok(!t.includes("\uFFFD"), JSON.stringify(t));
  assert.equal(t, "ééé");
  b.push("€"); // 3 bytes
  assert.ok(Buffer.byteLength(b.text()) <= 7);
  assert.ok(b.text().endsWith("€"));
});

test("tail buffer default bound is 64 KB", () => {
  const b = new TailBuffer();
  assert.equal(b.limit, OUTPUT_TAIL_BYTES);
  const chunk = "y".repeat(4096);
  for (let i = 0; i < 40; i++) b.push(chunk);
  assert.equal(b.byteLength, 64 * 1024);
  assert.equal(Buffer.byteLength(b.text()), 64 * 1024);
});

test("debouncer fires once per key after the key is quiet", () => {
  const clock = new FakeTimers();
  const fired: Array<[string, number]> = [];
  const d = new KeyedDebouncer<string>(500, (k) => fired.push([k, clock.now]), clock);
  d.trigger("file:///a.py");
  clock.advance(300);
  d.trigger("file:///a.py");
  d.trigger("file:///b.py");
  clock.advance(499);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [
    ["file:///a.py", 800],
    ["file:///b.py", 800],
  ]);
  clock.advance(5000);
  assert.equal(fired.length, 2);
  assert.equal(d.size, 0);
});

test("debouncer: a burst on one key does not delay another", () => {
  const clock = new FakeTimers();
  const fired: Array<[string, number]> = [];
  const d = new KeyedDebouncer<string>(500, (k) => fired.push([k, clock.now]), clock);
  d.trigger("a");
  for (let i = 0; i < 10; i++) {
    clock.advance(100);
    d.trigger("b");
  }
  clock.advance(500);
  assert.deepEqual(fired, [
    ["a", 500],
    ["b", 1500],
  ]);
});

test("debouncer dispose cancels pending calls", () => {
  const clock = new FakeTimers();
  let n = 0;
  const d = new KeyedDebouncer<string>(500, () => n++, clock);
  d.trigger("a");
  d.dispose();
  clock.advance(1000);
  assert.equal(n, 0);
});

const proposal = {
  id: "p-1",
  task: "Fix failing test test_parse",
  message: "The test you just ran, test_parse,\n fails at tests/test_cli.py:42. Open it?",
  anchor: null,
  operation: { kind: "open_location", uri: "file:///w/tests/test_cli.py", range: {} },
  proposer: "local",
  model: null,
  createdAt: 1732550000.5,
};

test("proposal becomes a notification with Accept / Reject / Not now", () => {
  const parsed = parseProposal(proposal);
  assert.equal(typeof parsed, "object");
  const spec = notificationFor(parsed as Exclude<typeof parsed, string>);
  assert.deepEqual(spec.buttons, ["Accept", "Reject", "Not now"]);
  assert.equal(
    spec.text,
    "Fix failing test test_parse — The test you just ran, test_parse, fails at tests/test_cli.py:42. Open it? (Accept opens it.)",
  );
  const other = notificationFor({ ...proposal, operation: { kind: "apply_edit" } });
  assert.match(other.text, /Accept applies the edit/);
  const unknown = notificationFor({ ...proposal, operation: { kind: "something_new" } });
  assert.equal(unknown.text, "Fix failing test test_parse — The test you just ran, test_parse, fails at tests/test_cli.py:42. Open it?");
  assert.deepEqual(notificationFor(parsed as Exclude<typeof parsed, string>, true).buttons, ["Accept", "Reject", "Not now"]);
  const kinded = notificationFor({ ...proposal, kind: "failing_command" }, true);
  assert.deepEqual(kinded.buttons, ["Accept", "Reject", "Not now", "Don't suggest this kind again"]);
  assert.deepEqual(notificationFor({ ...proposal, kind: "failing_command" }, false).buttons, ["Accept", "Reject", "Not now"]);
  const repeats = notificationFor({ ...proposal, message: "Fix failing test test_parse: it fails at line 42." });
  assert.equal(repeats.text, "Fix failing test test_parse — it fails at line 42. (Accept opens it.)");
});

test("malformed proposals are refused with a reason", () => {
  assert.equal(parseProposal(null), "proposal is not an object");
  assert.equal(parseProposal({ task: "x", message: "y" }), "proposal has no id");
  assert.equal(parseProposal({ id: "1", task: "", message: "y" }), "proposal has no task");
});

test("late answers: only outcomes the server decided alone can still be answered", () => {
  for (const o of ["ignored", "snoozed", "paused"]) assert.ok(LATE_ANSWERABLE.has(o), o);
  for (const o of ["accepted", "rejected"]) assert.ok(!LATE_ANSWERABLE.has(o), o);
});

test("status is read from the server's proactive.status answer", () => {
  const now = 1_000_000;
  const s = parseStatus({ pending: 2, accepted: 1, snoozedUntil: now + 600, proposer: "local" }, now);
  assert.equal(s?.pending, 2);
  assert.equal(s?.snoozedUntil, now + 600);
  const expired = parseStatus({ pending: 0, snoozedUntil: now - 1 }, now);
  assert.equal(expired?.snoozedUntil, null);
  assert.equal(parseStatus({ pending: 0, snoozedUntil: null }, now)?.snoozedUntil, null);
  assert.equal(parseStatus("nope"), null);
});

test("status bar states: starting, on, N waiting, snoozed, off, error", () => {
  const now = 1_000_000;
  const base = { enabled: true, running: "running" as const, pending: 0, snoozedUntilS: null, nowS: now };
  assert.equal(statusView({ ...base, running: "starting" }).state, "starting");
  const on = statusView(base);
  assert.equal(on.state, "on");
  assert.equal(on.text, "$(sparkle) Proactive");
  const waiting = statusView({ ...base, pending: 3 });
  assert.equal(waiting.state, "waiting");
  assert.equal(waiting.text, "$(sparkle) 3 waiting");
  const snoozed = statusView({ ...base, snoozedUntilS: now + 61 });
  assert.equal(snoozed.state, "snoozed");
  assert.equal(snoozed.text, "$(clock) Proactive 2 min");
  assert.equal(statusView({ ...base, snoozedUntilS: now - 5 }).state, "on", "an expired snooze is on");
  assert.equal(statusView({ ...base, pausedIndefinitely: true }).state, "snoozed");
  assert.equal(statusView({ ...base, enabled: false, running: "stopped" }).state, "off");
  const err = statusView({ ...base, running: "stopped", error: "no Python" });
  assert.equal(err.state, "error");
  assert.match(err.tooltip, /no Python/);
  assert.equal(statusView({ ...base, running: "stopped" }).state, "error", "a server that stopped by itself is an error");
  assert.doesNotMatch(statusView(base).text, /lightbulb/, "not VS Code's own light bulb");
});

test("diagnostics: own source skipped, severity and code converted", () => {
  const params = diagnosticsParams("file:///w/a.py", [
    {
      range: { start: { line: 3, character: 4 }, end: { line: 3, character: 9 } },
      message: '"foo" is not defined',
      severity: 0,
      source: "Pylance",
      code: { value: "reportUndefinedVariable", target: { toString: () => "https://example.invalid/rule" } },
    },
    { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, message: "x", severity: 3, source: "proactive-ls" },
    { range: { start: { line: 1, character: 0 }, end: { line: 1, character: 1 } }, message: "unused", severity: 1, tags: [1] },
  ]);
  assert.equal(params.uri, "file:///w/a.py");
  assert.equal(params.diagnostics.length, 2);
  assert.deepEqual(params.diagnostics[0], {
    range: { start: { line: 3, character: 4 }, end: { line: 3, character: 9 } },
    message: '"foo" is not defined',
    severity: 1,
    source: "Pylance",
    code: "reportUndefinedVariable",
    codeDescription: { href: "https://example.invalid/rule" },
  });
  assert.equal(params.diagnostics[1].severity, 2);
  assert.deepEqual(params.diagnostics[1].tags, [1]);
  assert.equal(toLspDiagnostic({ ...params.diagnostics[1], severity: 3 }).severity, 4);
});

test("terminal command params: trimmed command, null exit code, tail output, duration", () => {
  const out = new TailBuffer(16);
  out.push("collected 3 items\n1 failed, 2 passed\n");
  const p = terminalCommandParams({
    commandLine: "  pytest -q \n",
    cwd: "/w",
    exitCode: undefined,
    output: out,
    startedAtMs: 1000,
    endedAtMs: 3456.4,
  });
  assert.deepEqual(p, { commandLine: "pytest -q", cwd: "/w", exitCode: null, output: "ailed, 2 passed\n", durationMs: 2456 });
  assert.equal(
    terminalCommandParams({ commandLine: "  ", cwd: null, exitCode: 0, output: out, startedAtMs: 0, endedAtMs: 1 }),
    null,
  );
});

test("proposal book: newest first, latest answerable, bounded, stopped", () => {
  const book = new ProposalBook(2);
  book.add({ id: "a", task: "t", message: "m" }, 1);
  book.add({ id: "b", task: "t", message: "m" }, 2);
  assert.equal(book.pendingCount, 2);
  assert.deepEqual(book.list().map((r) => r.proposal.id), ["b", "a"]);
  assert.equal(book.latestPending()?.proposal.id, "b");
  book.resolve("b", "accepted");
  assert.equal(book.pendingCount, 1);
  assert.equal(book.outcome("b"), "accepted");
  assert.equal(book.latestAnswerable()?.proposal.id, "a");
  book.resolve("a", "ignored");
  assert.equal(book.latestPending(), undefined);
  assert.equal(book.latestAnswerable()?.proposal.id, "a", "an ignored proposal can still be answered late");
  book.add({ id: "c", task: "t", message: "m" }, 3);
  assert.equal(book.get("a"), undefined, "oldest forgotten past the bound");
  book.resolve("zzz", "rejected");
  assert.equal(book.outcome("zzz"), undefined, "an unknown id is not invented");
  book.stopped();
  assert.equal(book.pendingCount, 0);
  assert.match(book.outcome("c") ?? "", /lost/);
});

test("outbound queue keeps order, keeps what failed, drops the oldest past its bound", async () => {
  const q = new OutboundQueue<number>(3);
  for (const n of [1, 2, 3, 4]) q.push(n);
  assert.equal(q.size, 3);
  assert.equal(q.dropped, 1);
  const seen: number[] = [];
  let fail = true;
  const sent = await q.drain(async (n) => {
    if (n === 3 && fail) throw new Error("down");
    seen.push(n);
  });
  assert.equal(sent, 1);
  assert.deepEqual(seen, [2]);
  assert.equal(q.size, 2, "the failed item and the ones after it stay");
  fail = false;
  assert.equal(await q.drain(async (n) => void seen.push(n)), 2);
  assert.deepEqual(seen, [2, 3, 4]);
  assert.equal(q.size, 0);
});

test("observation lines: the events that led to a proposal", () => {
  const lines = observationLines({
    id: "x",
    task: "t",
    message: "m",
    observations: [{ time: "10:00", event: "user ran  pytest\n -q" }, { Time: "", Event: "tests failed" }, { nope: 1 }],
  });
  assert.deepEqual(lines, [
    { text: "user ran pytest -q", time: "10:00" },
    { text: "tests failed", time: "" },
  ]);
  assert.deepEqual(observationLines({ id: "x", task: "t", message: "m" }), []);
});

test("server settings: typed keys over the legacy object, unset keys left out", () => {
  const values: Record<string, unknown> = { maxPerHour: 3, quietPeriodMs: 50 };
  const out = serverSettings(["maxPerHour", "quietPeriodMs", "eagerness"], (k) => values[k], { maxPerHour: 99, judge: "none" });
  assert.deepEqual(out, { maxPerHour: 3, quietPeriodMs: 50, judge: "none" });
  assert.deepEqual(serverSettings(["feedbackLog"], () => "", {}), { feedbackLog: null }, "an emptied box is none");
});

test("interpreter probe: Python 3.11+ only", () => {
  assert.deepEqual(parseInterpreterProbe("3 12\n/usr/bin/python3\n"), { ok: true, version: "3.12", executable: "/usr/bin/python3" });
  assert.equal(parseInterpreterProbe("3 10\n/usr/bin/python3")?.ok, false);
  assert.equal(parseInterpreterProbe("4 0\n/x")?.ok, true);
  assert.equal(parseInterpreterProbe("garbage"), null);
});
