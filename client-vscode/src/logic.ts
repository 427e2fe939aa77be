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

/** One-line notification text for a proposal: the message, then what Accept will do. */
export function notificationFor(p: ProposalPayload): NotificationSpec {
  const message = p.message.replace(/\s+/g, " ").trim();
  const hint = ACCEPT_HINT[p.operation?.kind ?? ""];
  const text = hint ? `${message} (${hint}.)` : message;
  return { text, buttons: [ACCEPT, REJECT, NOT_NOW] };
}

export interface ServerCommand {
  command: string;
  arguments: unknown[];
}

/**
 * What answering a notification sends to the server.
 *
 * "Not now" or closing the notification sends nothing: the server records the proposal as ignored
 * when its time runs out. If the proposal was already answered elsewhere (a code action, another
 * window) the click is moot; if it was only timed out as ignored, the user's later answer still counts.
 */
export function commandForChoice(
  choice: string | undefined,
  id: string,
  resolvedOutcome?: string,
): ServerCommand | null {
  if (resolvedOutcome && resolvedOutcome !== "ignored") return null;
  if (choice === ACCEPT) return { command: "proactive.accept", arguments: [id] };
  if (choice === REJECT) return { command: "proactive.reject", arguments: [id] };
  return null;
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

/** Status bar text: a light bulb with the pending count, or the snooze end (not a bell: VS Code has its own). */
export function statusBarText(pending: number, snoozedUntilS: number | null, nowS: number = Date.now() / 1000): string {
  if (snoozedUntilS !== null && snoozedUntilS > nowS) {
    const minutes = Math.max(1, Math.ceil((snoozedUntilS - nowS) / 60));
    return `$(clock) snoozed ${minutes} min`;
  }
  return pending > 0 ? `$(lightbulb) ${pending}` : "$(lightbulb)";
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

/** Keeps the proposals the user has not answered yet, and the outcome of the answered ones. */
export class ProposalBook {
  private pending = new Map<string, ProposalPayload>();
  private outcomes = new Map<string, string>();
  private order: string[] = [];

  constructor(private readonly keepOutcomes = 200) {}

  add(p: ProposalPayload): void {
    this.pending.set(p.id, p);
  }

  resolve(id: string, outcome: string): void {
    this.pending.delete(id);
    if (!this.outcomes.has(id)) this.order.push(id);
    this.outcomes.set(id, outcome);
    while (this.order.length > this.keepOutcomes) this.outcomes.delete(this.order.shift()!);
  }

  outcome(id: string): string | undefined {
    return this.outcomes.get(id);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  clear(): void {
    this.pending.clear();
  }
}
