/**
 * The client's pure logic: no `vscode` import, so node's test runner can exercise it directly.
 *
 * extension.ts wires these pieces to the VS Code API; everything here takes plain data.
 */

/** The most bytes of a command's output sent to the server (the protocol's bound). */
export const OUTPUT_TAIL_BYTES = 64 * 1024;

/** Quiet time before a document's diagnostics are forwarded; bursts from a linter become one message. */
export const DIAGNOSTICS_DEBOUNCE_MS = 500;

/**
 * Keeps the last `limit` bytes (UTF-8) of a stream of text chunks.
 *
 * Output is kept verbatim (escape sequences included: the server strips them), and a cut never
 * splits a character, so the tail is always valid text.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(readonly limit: number = OUTPUT_TAIL_BYTES) {
    if (!(limit > 0)) throw new RangeError("limit must be positive");
  }

  push(text: string): void {
    if (!text) return;
    let chunk = Buffer.from(text, "utf8");
    if (chunk.length >= this.limit) {
      this.dropped += this.size + chunk.length - this.limit;
      this.chunks = [chunk.subarray(chunk.length - this.limit)];
      this.size = this.limit;
    } else {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    while (this.size > this.limit) {
      const head = this.chunks[0];
      const excess = this.size - this.limit;
      if (head.length <= excess) {
        this.chunks.shift();
        this.size -= head.length;
        this.dropped += head.length;
      } else {
        this.chunks[0] = head.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  /** Bytes kept. */
  get byteLength(): number {
    return this.size;
  }

  /** Bytes pushed out of the window so far. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** The kept text; a character cut at the front of the window is left out. */
  text(): string {
    const buf = Buffer.concat(this.chunks, this.size);
    let start = 0;
    // UTF-8 continuation bytes are 10xxxxxx: skip them where the cut landed inside a character.
    while (start < buf.length && start < 4 && (buf[start] & 0xc0) === 0x80) start++;
    return buf.subarray(start).toString("utf8");
  }
}

/** Timer functions, injectable so tests can drive time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Calls `fire(key)` once a key has been quiet for `delayMs`; each new `trigger(key)` restarts its wait.
 * Keys are independent: a burst on one document does not delay another.
 */
export class KeyedDebouncer<K> {
  private pending = new Map<K, unknown>();

  constructor(
    private readonly delayMs: number,
    private readonly fire: (key: K) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  trigger(key: K): void {
    const old = this.pending.get(key);
    if (old !== undefined) this.timers.clearTimeout(old);
    this.pending.set(
      key,
      this.timers.setTimeout(() => {
        this.pending.delete(key);
        this.fire(key);
      }, this.delayMs),
    );
  }

  get size(): number {
    return this.pending.size;
  }

  dispose(): void {
    for (const h of this.pending.values()) this.timers.clearTimeout(h);
    this.pending.clear();
  }
}

/** The subset of a `proactive/proposal` payload the client reads. Unknown fields are kept as they are. */
export interface ProposalPayload {
  id: string;
  task: string;
  message: string;
  purpose?: string | null;
  thoughts?: string | null;
  anchor?: { uri: string; range: unknown } | null;
  operation?: { kind?: string; [k: string]: unknown } | null;
  proposer?: string;
  model?: string | null;
  /** What the proposal is about (failing_command, syntax_error, ...): what `proactive.mute` takes. */
  kind?: string | null;
  [k: string]: unknown;
}

/** Reads a proposal from the wire, or returns an error sentence when it lacks what the client needs. */
export function parseProposal(raw: unknown): ProposalPayload | string {
  if (typeof raw !== "object" || raw === null) return "proposal is not an object";
  const p = raw as Record<string, unknown>;
  for (const field of ["id", "task", "message"] as const) {
    if (typeof p[field] !== "string" || (p[field] as string).length === 0) return `proposal has no ${field}`;
  }
  return p as ProposalPayload;
}

export const ACCEPT = "Accept";
export const REJECT = "Reject";
export const NOT_NOW = "Not now";
export const MUTE_KIND = "Don't suggest this kind again";

export interface NotificationSpec {
  text: string;
  buttons: string[];
}

const ACCEPT_HINT: Record<string, string> = {
  open_location: "Accept opens it",
  show_markdown: "Accept shows it",
  apply_edit: "Accept applies the edit (undoable)",
  model_task: "Accept asks the model to do it",
};

/**
 * The notification for a proposal: the task as its title, then the message and what Accept will do.
 * `canMute`: the server takes `proactive.mute` and the proposal names its kind, so the user can stop
 * that kind from this notification.
 */
export function notificationFor(p: ProposalPayload, canMute = false): NotificationSpec {
  const task = p.task.replace(/\s+/g, " ").trim();
  let message = p.message.replace(/\s+/g, " ").trim();
  if (message.toLowerCase().startsWith(task.toLowerCase())) message = message.slice(task.length).replace(/^[\s:.—-]+/, "");
  const hint = ACCEPT_HINT[p.operation?.kind ?? ""];
  const body = [message, hint ? `(${hint}.)` : ""].filter(Boolean).join(" ");
  const buttons = [ACCEPT, REJECT, NOT_NOW];
  if (canMute && typeof p.kind === "string" && p.kind) buttons.push(MUTE_KIND);
  return { text: body ? `${task} — ${body}` : task, buttons };
}

/** The server's answer to `proactive.status`, read leniently (unknown fields ignored). */
export interface StatusInfo {
  pending: number;
  snoozedUntil: number | null;
  raw: Record<string, unknown>;
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function parseStatus(raw: unknown, nowS: number = Date.now() / 1000): StatusInfo | null {
  if (typeof raw !== "object" || raw === null) return null;
  const r = raw as Record<string, unknown>;
  const counts = (typeof r.counts === "object" && r.counts !== null ? r.counts : {}) as Record<string, unknown>;
  const pending = num(r.pending) ?? num(counts.pending) ?? (Array.isArray(r.pending) ? r.pending.length : 0);
  const snooze = (typeof r.snooze === "object" && r.snooze !== null ? r.snooze : {}) as Record<string, unknown>;
  let until = num(r.snoozedUntil) ?? num(r.snoozed_until) ?? num(snooze.until) ?? num(snooze.snoozedUntil);
  if (until === null) {
    const remaining = num(r.snoozeRemainingS) ?? num(snooze.remainingS) ?? num(snooze.remaining_s);
    if (remaining !== null && remaining > 0) until = nowS + remaining;
  }
  if (until !== null && until <= nowS) until = null;
  return { pending, snoozedUntil: until, raw: r };
}

/** What the status bar shows: the server's life and the user's state, in one word each. */
export type StatusState = "starting" | "on" | "waiting" | "snoozed" | "off" | "error";

export interface StatusView {
  state: StatusState;
  text: string;
  tooltip: string;
}

/** The extension's own glyph (a sparkle, not VS Code's light bulb) and a label, so it is never mistaken for VS Code's. */
export const STATUS_ICON = "$(sparkle)";

/**
 * The status bar item for the client's state.
 *
 * `running` is the language client's state, `pending` the number of unanswered proposals,
 * `snoozedUntilS` the end of a snooze (unix seconds), `error` why the server is not running.
 */
export function statusView(input: {
  enabled: boolean;
  running: "starting" | "running" | "stopped";
  error?: string | null;
  pending: number;
  snoozedUntilS: number | null;
  pausedIndefinitely?: boolean;
  /** Where the server writes outcomes (from proactive.status), shown in the tooltip of a running server. */
  feedbackLog?: string | null;
  nowS?: number;
}): StatusView {
  const view = baseStatusView(input);
  if (input.feedbackLog && (view.state === "on" || view.state === "waiting" || view.state === "snoozed")) {
    view.tooltip += ` Feedback log: ${input.feedbackLog}`;
  }
  return view;
}

function baseStatusView(input: Parameters<typeof statusView>[0]): StatusView {
  const nowS = input.nowS ?? Date.now() / 1000;
  if (!input.enabled) {
    return { state: "off", text: "$(circle-slash) Proactive off", tooltip: "Proactive is turned off. Click for the menu (Turn on)." };
  }
  if (input.error) {
    return { state: "error", text: "$(error) Proactive", tooltip: `Proactive: the server is not running: ${input.error}. Click for the menu.` };
  }
  if (input.running === "starting") {
    return { state: "starting", text: "$(loading~spin) Proactive", tooltip: "Proactive: starting the server…" };
  }
  if (input.running === "stopped") {
    return { state: "error", text: "$(error) Proactive", tooltip: "Proactive: the server stopped. Click for the menu (Restart the server)." };
  }
  if (input.pending > 0) {
    const n = input.pending;
    return {
      state: "waiting",
      text: `${STATUS_ICON} ${n} waiting`,
      tooltip: `Proactive: ${n} proposal${n === 1 ? "" : "s"} waiting for an answer. Click to answer.`,
    };
  }
  if (input.pausedIndefinitely) {
    return { state: "snoozed", text: "$(clock) Proactive paused", tooltip: "Proactive: paused until resumed. Click to resume." };
  }
  if (input.snoozedUntilS !== null && input.snoozedUntilS > nowS) {
    const minutes = Math.max(1, Math.ceil((input.snoozedUntilS - nowS) / 60));
    return {
      state: "snoozed",
      text: `$(clock) Proactive ${minutes} min`,
      tooltip: `Proactive: snoozed for ${minutes} more minute${minutes === 1 ? "" : "s"}. Click to resume.`,
    };
  }
  return { state: "on", text: `${STATUS_ICON} Proactive`, tooltip: "Proactive: on, watching for a next step. Click for the menu." };
}

/** Plain shapes of a VS Code diagnostic, as far as the conversion needs. */
export interface PlainPosition {
  line: number;
  character: number;
}
export interface PlainDiagnostic {
  range: { start: PlainPosition; end: PlainPosition };
  message: string;
  /** vscode.DiagnosticSeverity: Error 0, Warning 1, Information 2, Hint 3. */
  severity: number;
  source?: string;
  code?: string | number | { value: string | number; target?: { toString(): string } };
  tags?: number[];
}

/** LSP Diagnostic (severity 1..4). */
export interface LspDiagnostic {
  range: { start: PlainPosition; end: PlainPosition };
  message: string;
  severity: number;
  source?: string;
  code?: string | number;
  codeDescription?: { href: string };
  tags?: number[];
}

/** Sources this client must not echo back: the server's own diagnostics. */
export function isOwnDiagnostic(d: { source?: string }): boolean {
  return typeof d.source === "string" && /^proactive(-ls)?\b/i.test(d.source);
}

export function toLspDiagnostic(d: PlainDiagnostic): LspDiagnostic {
  const pos = (p: PlainPosition) => ({ line: p.line, character: p.character });
  const out: LspDiagnostic = {
    range: { start: pos(d.range.start), end: pos(d.range.end) },
    message: d.message,
    severity: Math.min(4, Math.max(1, d.severity + 1)),
  };
  if (d.source) out.source = d.source;
  if (typeof d.code === "string" || typeof d.code === "number") {
    out.code = d.code;
  } else if (d.code && typeof d.code === "object") {
    out.code = d.code.value;
    if (d.code.target) out.codeDescription = { href: d.code.target.toString() };
  }
  if (d.tags && d.tags.length) out.tags = d.tags.map((t) => t);
  return out;
}

/** The `proactive/diagnostics` params for one document: other sources only, converted to LSP. */
export function diagnosticsParams(uri: string, diagnostics: PlainDiagnostic[]): { uri: string; diagnostics: LspDiagnostic[] } {
  return { uri, diagnostics: diagnostics.filter((d) => !isOwnDiagnostic(d)).map(toLspDiagnostic) };
}

/** The `proactive/terminalCommand` params. */
export interface TerminalCommandParams {
  commandLine: string;
  cwd: string | null;
  exitCode: number | null;
  output: string;
  durationMs: number;
}

export function terminalCommandParams(input: {
  commandLine: string;
  cwd: string | undefined | null;
  exitCode: number | undefined | null;
  output: TailBuffer;
  startedAtMs: number;
  endedAtMs: number;
}): TerminalCommandParams | null {
  const commandLine = input.commandLine.trim();
  if (!commandLine) return null;
  return {
    commandLine,
    cwd: input.cwd ?? null,
    exitCode: typeof input.exitCode === "number" ? input.exitCode : null,
    output: input.output.text(),
    durationMs: Math.max(0, Math.round(input.endedAtMs - input.startedAtMs)),
  };
}

/** A proposal as the client remembers it: what it said, when, and how it ended. */
export interface ProposalRecord {
  proposal: ProposalPayload;
  receivedAtMs: number;
  /** undefined while pending; else accepted, rejected, ignored, snoozed, ... (as the server or the user decided). */
  outcome?: string;
  answeredAtMs?: number;
}

/** Outcomes after which an answer from the user still counts (the server records it as late). */
export const LATE_ANSWERABLE = new Set(["ignored", "snoozed", "paused"]);

/**
 * The recent proposals, newest first: the pending ones and the outcome of the answered ones.
 *
 * The view lists them; the latest pending one is what "accept latest" answers.
 */
export class ProposalBook {
  private records = new Map<string, ProposalRecord>();

  constructor(private readonly keep = 50) {}

  add(p: ProposalPayload, nowMs: number = Date.now()): void {
    this.records.delete(p.id);
    this.records.set(p.id, { proposal: p, receivedAtMs: nowMs });
    while (this.records.size > this.keep) {
      const oldest = this.records.keys().next().value as string;
      this.records.delete(oldest);
    }
  }

  resolve(id: string, outcome: string, nowMs: number = Date.now()): void {
    const r = this.records.get(id);
    if (!r) return;
    r.outcome = outcome;
    r.answeredAtMs = nowMs;
  }

  get(id: string): ProposalRecord | undefined {
    return this.records.get(id);
  }

  outcome(id: string): string | undefined {
    return this.records.get(id)?.outcome;
  }

  /** Newest first. */
  list(): ProposalRecord[] {
    return [...this.records.values()].reverse();
  }

  /** The newest proposal still waiting for an answer. */
  latestPending(): ProposalRecord | undefined {
    return this.list().find((r) => r.outcome === undefined);
  }

  /** The newest proposal the user can still answer: pending, or timed out (a late answer). */
  latestAnswerable(): ProposalRecord | undefined {
    return this.list().find((r) => r.outcome === undefined || LATE_ANSWERABLE.has(r.outcome));
  }

  get pendingCount(): number {
    let n = 0;
    for (const r of this.records.values()) if (r.outcome === undefined) n++;
    return n;
  }

  /** The server went away: what was pending there is no longer answerable. */
  stopped(): void {
    for (const r of this.records.values()) {
      if (r.outcome === undefined) r.outcome = "lost (server stopped)";
      else if (LATE_ANSWERABLE.has(r.outcome)) r.outcome += " (server restarted)";
    }
  }
}

/**
 * Messages for the server that must not be lost while it starts or restarts.
 *
 * Bounded (oldest dropped first, counted) so a server that never starts cannot grow it forever.
 */
export class OutboundQueue<T> {
  private items: T[] = [];
  private droppedCount = 0;

  constructor(private readonly limit = 500) {}

  push(item: T): void {
    this.items.push(item);
    while (this.items.length > this.limit) {
      this.items.shift();
      this.droppedCount++;
    }
  }

  get size(): number {
    return this.items.length;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  /**
   * Sends the queued items in order; an item whose send fails stays at the head with the ones after it.
   * Returns how many were sent.
   */
  async drain(send: (item: T) => Promise<void>): Promise<number> {
    let sent = 0;
    while (this.items.length > 0) {
      const head = this.items[0];
      try {
        await send(head);
      } catch {
        return sent;
      }
      if (this.items[0] === head) this.items.shift();
      sent++;
    }
    return sent;
  }
}

/** The events that led to a proposal (its ProactiveBench observations), oldest first: text and time. */
export function observationLines(p: ProposalPayload, limit = 8): Array<{ text: string; time: string }> {
  const obs = Array.isArray(p.observations) ? (p.observations as unknown[]) : [];
  const lines: Array<{ text: string; time: string }> = [];
  for (const o of obs.slice(-limit)) {
    if (typeof o !== "object" || o === null) continue;
    const r = o as Record<string, unknown>;
    const event = r.event ?? r.Event;
    const time = r.time ?? r.Time;
    if (typeof event !== "string") continue;
    lines.push({ text: event.replace(/\s+/g, " ").trim(), time: typeof time === "string" ? time : "" });
  }
  return lines;
}

/**
 * The server settings to send: every `proactive.<key>` of the server's section (its effective value,
 * so a setting the user removed goes back to its default), over the deprecated `proactive.settings` object.
 */
export function serverSettings(
  keys: readonly string[],
  get: (key: string) => unknown,
  legacy: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(legacy ?? {}) };
  for (const key of keys) {
    const value = get(key);
    // An emptied text or number box in the Settings editor means "none" (the server's null).
    if (value !== undefined) out[key] = value === "" ? null : value;
  }
  return out;
}

/** The oldest Python the server runs on (pyproject's requires-python). */
export const MIN_PYTHON: readonly [number, number] = [3, 11];

/** Reads `print(major, minor); print(sys.executable)` from a candidate interpreter. */
export function parseInterpreterProbe(stdout: string): { ok: boolean; version: string; executable: string } | null {
  const [first, second] = stdout.trim().split(/\r?\n/);
  const m = /^(\d+) (\d+)$/.exec((first ?? "").trim());
  if (!m || !second) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const ok = major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
  return { ok, version: `${major}.${minor}`, executable: second.trim() };
}
