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
  commandForChoice,
  diagnosticsParams,
  notificationFor,
  parseProposal,
  parseStatus,
  statusBarText,
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
  assert.equal(spec.text, "The test you just ran, test_parse, fails at tests/test_cli.py:42. Open it? (Accept opens it.)");
  const other = notificationFor({ ...proposal, operation: { kind: "apply_edit" } });
  assert.match(other.text, /Accept applies the edit/);
  const unknown = notificationFor({ ...proposal, operation: { kind: "something_new" } });
  assert.equal(unknown.text, "The test you just ran, test_parse, fails at tests/test_cli.py:42. Open it?");
});

test("malformed proposals are refused with a reason", () => {
  assert.equal(parseProposal(null), "proposal is not an object");
  assert.equal(parseProposal({ task: "x", message: "y" }), "proposal has no id");
  assert.equal(parseProposal({ id: "1", task: "", message: "y" }), "proposal has no task");
});

test("choices map to server commands; Not now and closing send nothing", () => {
  assert.deepEqual(commandForChoice(ACCEPT, "p-1"), { command: "proactive.accept", arguments: ["p-1"] });
  assert.deepEqual(commandForChoice(REJECT, "p-1"), { command: "proactive.reject", arguments: ["p-1"] });
  assert.equal(commandForChoice(NOT_NOW, "p-1"), null);
  assert.equal(commandForChoice(undefined, "p-1"), null);
  // answered elsewhere (code action, snooze): the click is moot
  assert.equal(commandForChoice(ACCEPT, "p-1", "accepted"), null);
  assert.equal(commandForChoice(REJECT, "p-1", "snoozed"), null);
  // only timed out: a late answer still counts
  assert.deepEqual(commandForChoice(ACCEPT, "p-1", "ignored"), { command: "proactive.accept", arguments: ["p-1"] });
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

test("status bar text", () => {
  const now = 1_000_000;
  assert.equal(statusBarText(0, null, now), "$(lightbulb)");
  assert.equal(statusBarText(3, null, now), "$(lightbulb) 3");
  assert.equal(statusBarText(3, now + 61, now), "$(clock) snoozed 2 min");
  assert.equal(statusBarText(1, now - 5, now), "$(lightbulb) 1");
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

test("proposal book counts pending and remembers outcomes", () => {
  const book = new ProposalBook(2);
  book.add({ id: "a", task: "t", message: "m" });
  book.add({ id: "b", task: "t", message: "m" });
  assert.equal(book.pendingCount, 2);
  book.resolve("a", "accepted");
  assert.equal(book.pendingCount, 1);
  assert.equal(book.outcome("a"), "accepted");
  book.resolve("b", "ignored");
  book.resolve("c", "rejected");
  assert.equal(book.outcome("a"), undefined, "oldest outcome forgotten past the bound");
  assert.equal(book.outcome("c"), "rejected");
});
