/**
 * VS Code client for proactive-ls: runs the server (bundled, or `proactive.serverCommand`), shows
 * its proposals (notifications, the Proactive view, the status bar), and forwards what the server
 * cannot see itself (terminal commands, other extensions' diagnostics) — queued while the server
 * starts or restarts, so nothing is lost.
 */

import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  StaticFeature,
} from "vscode-languageclient/node";
import {
  ACCEPT,
  DIAGNOSTICS_DEBOUNCE_MS,
  KeyedDebouncer,
  LATE_ANSWERABLE,
  NOT_NOW,
  OutboundQueue,
  ProposalBook,
  ProposalPayload,
  REJECT,
  TailBuffer,
  diagnosticsParams,
  MUTE_KIND,
  notificationFor,
  parseProposal,
  parseStatus,
  serverSettings,
  statusView,
  terminalCommandParams,
} from "./logic";
import { NoInterpreterError, ServerLaunch, resolveServer } from "./server";
import { ProposalsView, proposalIdOf } from "./view";

const CLIENT_ID = "proactive";
/** How long the end of a command waits for its output stream to drain. */
const OUTPUT_DRAIN_MS = 1000;
/** Refresh the status bar this often, so a snooze countdown moves. */
const STATUS_REFRESH_MS = 30_000;
/** The section of package.json's configuration that scripts/make-vscode-settings.py generates. */
const SERVER_SECTION_ID = "proactive.server";
/** Settings of the extension itself: never sent to the server. */
const CLIENT_KEYS = ["serverCommand", "serverArgs", "python", "forwardTerminal", "forwardDiagnostics", "settings"];
const RESTART_KEYS = ["serverCommand", "serverArgs", "python"];

/** Server commands the extension uses; which ones a server has is read from its initialize result. */
const CMD = {
  accept: "proactive.accept",
  reject: "proactive.reject",
  snooze: "proactive.snooze",
  status: "proactive.status",
  pause: "proactive.pause",
  resume: "proactive.resume",
  mute: "proactive.mute",
  proposeNow: "proactive.proposeNow",
} as const;

/** Declares `experimental.proactive.proposals` so the server sends `proactive/proposal` notifications. */
class ProposalsCapability implements StaticFeature {
  fillClientCapabilities(capabilities: { experimental?: unknown }): void {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    experimental.proactive = { ...((experimental.proactive as object) ?? {}), proposals: true };
    capabilities.experimental = experimental;
  }
  initialize(): void {}
  getState(): { kind: "static" } {
    return { kind: "static" };
  }
  clear(): void {}
}

interface Running {
  buffer: TailBuffer;
  startedAtMs: number;
  drained: Promise<void>;
}

interface Outbound {
  method: string;
  params: unknown;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function serverKeysOf(packageJSON: unknown): string[] {
  const sections = ((packageJSON as { contributes?: { configuration?: unknown } })?.contributes?.configuration ?? []) as Array<{
    id?: string;
    properties?: Record<string, unknown>;
  }>;
  const section = sections.find((s) => s.id === SERVER_SECTION_ID);
  return Object.keys(section?.properties ?? {})
    .map((k) => k.replace(/^proactive\./, ""))
    .filter((k) => !CLIENT_KEYS.includes(k));
}

class ProactiveClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private launch: ServerLaunch | undefined;
  private readonly book = new ProposalBook();
  private readonly queue = new OutboundQueue<Outbound>();
  private readonly view: ProposalsView;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly output: vscode.OutputChannel;
  private readonly running = new Map<vscode.TerminalShellExecution, Running>();
  private readonly diagDebouncer: KeyedDebouncer<string>;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly clientDisposables: vscode.Disposable[] = [];
  private readonly serverKeys: string[];
  /**
   * A server whose settings have `enabled` stays running when turned off (it keeps the history and
   * proposes nothing); with an older server, off stops it.
   */
  private readonly serverHasEnabled: boolean;
  private serverCommands = new Set<string>();
  private lifecycle: "starting" | "running" | "stopped" = "stopped";
  private error: string | null = null;
  private snoozedUntil: number | null = null;
  private pausedIndefinitely = false;
  private serverPending: number | null = null;
  private lastStatus: Record<string, unknown> | null = null;
  private statusTimer: ReturnType<typeof setInterval> | undefined;
  private starting: Promise<void> | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly context: vscode.ExtensionContext) {
    this.serverKeys = serverKeysOf(context.extension.packageJSON);
    this.serverHasEnabled = this.serverKeys.includes("enabled");
    this.output = vscode.window.createOutputChannel("Proactive");
    this.statusItem = vscode.window.createStatusBarItem("proactive.status", vscode.StatusBarAlignment.Right, 50);
    this.statusItem.name = "Proactive";
    this.statusItem.command = "proactive.client.showMenu";
    this.view = new ProposalsView(this.book);
    this.diagDebouncer = new KeyedDebouncer<string>(DIAGNOSTICS_DEBOUNCE_MS, (uri) => this.forwardDiagnostics(uri));
    this.renderStatus();
    this.statusItem.show();
  }

  private log(line: string): void {
    this.output.appendLine(`[${new Date().toISOString()}] ${line}`);
  }

  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration("proactive");
  }

  private get enabled(): boolean {
    return this.cfg.get<boolean>("enabled", true);
  }

  activate(): void {
    const reg = (id: string, fn: (...args: unknown[]) => unknown) =>
      vscode.commands.registerCommand(`proactive.client.${id}`, fn);
    this.disposables.push(
      vscode.window.registerTreeDataProvider("proactive.proposals", this.view),
      reg("showMenu", () => this.showMenu()),
      reg("showStatus", () => this.showMenu()),
      reg("acceptLatest", () => this.answerLatest("accept")),
      reg("rejectLatest", () => this.answerLatest("reject")),
      reg("accept", (arg) => this.answerFromView(arg, "accept")),
      reg("reject", (arg) => this.answerFromView(arg, "reject")),
      reg("showProposal", (arg) => this.reshow(proposalIdOf(arg))),
      reg("muteKind", (arg) => this.muteKind(proposalIdOf(arg))),
      reg("snooze", (minutes) => this.snooze(typeof minutes === "number" ? minutes : undefined)),
      reg("resume", () => this.resume()),
      reg("offWorkspace", () => this.setEnabled(false, vscode.ConfigurationTarget.Workspace)),
      reg("offGlobally", () => this.setEnabled(false, vscode.ConfigurationTarget.Global)),
      reg("on", () => this.turnOn()),
      reg("proposeNow", () => this.proposeNow()),
      reg("showFeedbackLog", () => this.showFeedbackLog()),
      reg("exportFeedback", () => this.exportFeedback()),
      reg("openReport", () => this.openReport()),
      reg("restartServer", () => this.restart()),
      vscode.languages.onDidChangeDiagnostics((e) => this.onDiagnostics(e)),
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfiguration(e)),
      vscode.window.onDidStartTerminalShellExecution((e) => this.onExecutionStart(e)),
      vscode.window.onDidEndTerminalShellExecution((e) => void this.onExecutionEnd(e)),
      this.statusItem,
      this.output,
      this.view,
    );
    this.statusTimer = setInterval(() => void this.refreshStatus(), STATUS_REFRESH_MS);
    this.updateContexts();
    this.context.subscriptions.push(this);
  }

  // --- server lifecycle ------------------------------------------------------------------------

  /** Starts the server unless it is off or already starting; never throws (errors go to the status bar). */
  start(): Promise<void> {
    if (!this.enabled && !this.serverHasEnabled) {
      this.renderStatus();
      return Promise.resolve();
    }
    if (!this.starting) {
      this.starting = this.doStart().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.error = null;
    this.lifecycle = "starting";
    this.renderStatus();
    let launch: ServerLaunch;
    try {
      launch = await resolveServer(this.context, (l) => this.log(l));
    } catch (err) {
      this.lifecycle = "stopped";
      this.error = errorText(err);
      this.log(`cannot start the server: ${this.error}`);
      this.renderStatus();
      void this.explainStartFailure(err);
      return;
    }
    this.launch = launch;
    this.log(`starting ${launch.source}: ${launch.command} ${launch.args.join(" ")}`);
    // No `transport`: TransportKind.stdio would append "--stdio" to the arguments, which
    // `proactive-ls serve` does not take; without it the client still speaks over stdin/stdout.
    const serverOptions: ServerOptions = { command: launch.command, args: launch.args };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      initializationOptions: this.settingsForServer(),
      outputChannel: this.output,
      middleware: {
        workspace: {
          // A server that pulls its settings gets the server section only, never the client's keys.
          configuration: (params) =>
            params.items.map((item) =>
              item.section === "proactive" || item.section === "proactive-ls" ? this.settingsForServer() : null,
            ),
        },
      },
    };
    const client = new LanguageClient(CLIENT_ID, "Proactive", serverOptions, clientOptions);
    client.registerFeature(new ProposalsCapability());
    this.clientDisposables.push(
      client.onNotification("proactive/proposal", (raw: unknown) => this.onProposal(raw)),
      client.onNotification("proactive/proposalResolved", (raw: { id?: string; outcome?: string; lateByS?: number }) => {
        const late = typeof raw?.lateByS === "number" ? " (late)" : "";
        if (raw && typeof raw.id === "string") this.resolved(raw.id, (raw.outcome ?? "resolved") + late);
        void this.refreshStatus();
      }),
      client.onDidChangeState((e) => this.onState(e.newState)),
    );
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.lifecycle = "stopped";
      this.error = errorText(err);
      this.log(`the server did not start: ${this.error}`);
      this.renderStatus();
      void vscode.window
        .showErrorMessage(`Proactive: the server did not start (${this.error}).`, "Show output", "Restart")
        .then((pick) => (pick === "Show output" ? this.output.show(true) : pick === "Restart" ? this.restart() : undefined));
      return;
    }
    const commands = client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    this.serverCommands = new Set(commands);
    this.log(`server ready; commands: ${commands.join(", ")}`);
    this.updateContexts();
    await this.flush();
    await this.refreshStatus();
  }

  private onState(state: State): void {
    if (state === State.Running) {
      this.lifecycle = "running";
      this.error = null;
      void this.flush();
    } else if (state === State.Starting) {
      this.lifecycle = "starting";
    } else {
      this.lifecycle = "stopped";
      this.book.stopped();
      this.serverPending = null;
      this.view.refresh();
    }
    this.updateContexts();
    this.renderStatus();
  }

  private async explainStartFailure(err: unknown): Promise<void> {
    if (!(err instanceof NoInterpreterError)) {
      const pick = await vscode.window.showErrorMessage(`Proactive: ${errorText(err)}`, "Show output", "Restart");
      if (pick === "Show output") this.output.show(true);
      if (pick === "Restart") await this.restart();
      return;
    }
    const buttons = ["Set proactive.python", "Use my own server"];
    const hasPython = vscode.extensions.getExtension("ms-python.python") !== undefined;
    if (hasPython) buttons.unshift("Select interpreter");
    const pick = await vscode.window.showErrorMessage(`${err.message} Install Python 3.11+, or pick one:`, ...buttons);
    if (pick === "Select interpreter") await vscode.commands.executeCommand("python.setInterpreter");
    if (pick === "Set proactive.python") await vscode.commands.executeCommand("workbench.action.openSettings", "proactive.python");
    if (pick === "Use my own server") await vscode.commands.executeCommand("workbench.action.openSettings", "proactive.serverCommand");
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.clientDisposables.splice(0)) d.dispose();
    if (client) {
      try {
        if (client.needsStop()) await client.stop();
      } catch (err) {
        this.log(`stopping the server failed: ${errorText(err)}`);
      }
    }
    this.lifecycle = "stopped";
    this.book.stopped();
    this.serverCommands.clear();
    this.serverPending = null;
    this.view.refresh();
    this.updateContexts();
    this.renderStatus();
  }

  /** Stops and starts the server; queued events are kept and sent to the new one. */
  async restart(): Promise<void> {
    if (this.starting) await this.starting;
    await this.stop();
    await this.start();
  }

  private get isRunning(): boolean {
    return this.client !== undefined && this.client.isRunning();
  }

  private has(command: string): boolean {
    return this.serverCommands.has(command);
  }

  private updateContexts(): void {
    const set = (key: string, value: boolean) => void vscode.commands.executeCommand("setContext", key, value);
    set("proactive.hasPending", this.book.latestAnswerable() !== undefined);
    set("proactive.canResume", this.has(CMD.resume));
    set("proactive.canProposeNow", this.has(CMD.proposeNow));
    set("proactive.canMute", this.has(CMD.mute));
    set("proactive.enabled", this.enabled);
  }

  private execute(command: string, args: unknown[] = []): Promise<unknown> {
    if (!this.client || !this.isRunning) return Promise.reject(new Error("the server is not running"));
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  // --- events for the server, queued until it is ready --------------------------------------------

  private send(method: string, params: unknown): void {
    this.queue.push({ method, params });
    void this.flush();
  }

  /** Sends what is queued, in order; one drain at a time, so nothing is sent twice. */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const client = this.client;
      if (!client || !this.isRunning || this.queue.size === 0) return;
      const sent = await this.queue.drain(async (item) => {
        if (!this.isRunning) throw new Error("not running");
        await client.sendNotification(item.method, item.params);
      });
      if (sent) this.log(`sent ${sent} queued event${sent === 1 ? "" : "s"}`);
    });
    return this.flushing;
  }

  // --- proposals -------------------------------------------------------------------------------

  private onProposal(raw: unknown): void {
    const proposal = parseProposal(raw);
    if (typeof proposal === "string") {
      this.log(`ignored a malformed proactive/proposal: ${proposal}`);
      return;
    }
    this.book.add(proposal);
    this.log(`proposal ${proposal.id}: ${proposal.task}`);
    if (this.serverPending !== null) this.serverPending += 1;
    this.changed();
    void this.ask(proposal);
  }

  private resolved(id: string, outcome: string): void {
    this.book.resolve(id, outcome);
    this.log(`proposal ${id}: ${outcome}`);
    this.changed();
  }

  private changed(): void {
    this.view.refresh();
    this.updateContexts();
    this.renderStatus();
  }

  /** Shows the proposal as a notification titled with its task; it stays reachable from the view and the menu. */
  private async ask(proposal: ProposalPayload): Promise<void> {
    const spec = notificationFor(proposal, this.has(CMD.mute));
    const choice = await vscode.window.showInformationMessage(spec.text, ...spec.buttons);
    if (choice === ACCEPT) await this.answer(proposal.id, "accept");
    else if (choice === REJECT) await this.answer(proposal.id, "reject");
    else if (choice === MUTE_KIND) await this.muteKind(proposal.id);
    else if (choice === NOT_NOW || choice === undefined) return;
  }

  /** Sends the answer; an answer after the server timed the proposal out is still sent (recorded as late). */
  private async answer(id: string, answer: "accept" | "reject"): Promise<void> {
    const outcome = this.book.outcome(id);
    if (outcome !== undefined && !LATE_ANSWERABLE.has(outcome)) {
      void vscode.window.showInformationMessage(`Proactive: this proposal was already ${outcome}.`);
      return;
    }
    try {
      const result = (await this.execute(answer === "accept" ? CMD.accept : CMD.reject, [id])) as { lateByS?: number } | null;
      const late = result && typeof result.lateByS === "number" ? " (late)" : "";
      this.resolved(id, (answer === "accept" ? "accepted" : "rejected") + late);
    } catch (err) {
      const text = errorText(err);
      if (outcome !== undefined && /no pending proposal/i.test(text)) {
        // A server without late answers (before proactive.pause & co.) refuses them: say so plainly.
        void vscode.window.showWarningMessage(
          `Proactive: the server had already recorded this proposal as ${outcome}; this server version does not take late answers, so your ${answer} was not recorded.`,
        );
      } else {
        void vscode.window.showWarningMessage(`Proactive: ${answer} failed: ${text}`);
      }
    }
    await this.refreshStatus();
  }

  private async answerLatest(answer: "accept" | "reject"): Promise<void> {
    const record = this.book.latestAnswerable();
    if (!record) {
      void vscode.window.showInformationMessage("Proactive: no proposal is waiting for an answer.");
      return;
    }
    await this.answer(record.proposal.id, answer);
  }

  private async answerFromView(arg: unknown, answer: "accept" | "reject"): Promise<void> {
    const id = proposalIdOf(arg);
    if (id) await this.answer(id, answer);
  }

  /** Shows a proposal again: as a notification with its buttons while it can be answered, else its outcome. */
  private async reshow(id: string | undefined): Promise<void> {
    const record = id ? this.book.get(id) : this.book.latestAnswerable();
    if (!record) {
      void vscode.window.showInformationMessage("Proactive: no such proposal (the list keeps the last 50).");
      return;
    }
    const outcome = record.outcome;
    if (outcome === undefined || LATE_ANSWERABLE.has(outcome)) {
      await this.ask(record.proposal);
    } else {
      void vscode.window.showInformationMessage(`${notificationFor(record.proposal).text} — ${outcome}.`);
    }
  }

  private async muteKind(id: string | undefined): Promise<void> {
    const record = id ? this.book.get(id) : undefined;
    const kind = record?.proposal.kind ?? record?.proposal.rule;
    if (!this.has(CMD.mute) || typeof kind !== "string") {
      void vscode.window.showInformationMessage("Proactive: this server cannot mute a kind of proposal.");
      return;
    }
    try {
      await this.execute(CMD.mute, [{ kind }]);
      void vscode.window.showInformationMessage(`Proactive: proposals of the kind "${kind}" are muted.`);
    } catch (err) {
      void vscode.window.showWarningMessage(`Proactive: mute failed: ${errorText(err)}`);
    }
  }

  // --- status bar and menu -----------------------------------------------------------------------

  private renderStatus(): void {
    const view = statusView({
      enabled: this.enabled,
      running: this.lifecycle,
      error: this.error,
      pending: this.isRunning ? (this.serverPending ?? this.book.pendingCount) : 0,
      snoozedUntilS: this.snoozedUntil,
      pausedIndefinitely: this.pausedIndefinitely,
      feedbackLog: typeof this.lastStatus?.feedbackLog === "string" ? this.lastStatus.feedbackLog : null,
    });
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.accessibilityInformation = { label: view.tooltip, role: "button" };
    this.statusItem.backgroundColor =
      view.state === "error" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  }

  private async refreshStatus(): Promise<Record<string, unknown> | null> {
    if (!this.isRunning) {
      this.renderStatus();
      return null;
    }
    try {
      const raw = await this.execute(CMD.status);
      const info = parseStatus(raw);
      this.snoozedUntil = info?.snoozedUntil ?? null;
      const r = (info?.raw ?? {}) as Record<string, unknown>;
      // A pause (proactive.pause) is a snooze with an end, or none (until resumed).
      this.pausedIndefinitely = r.paused === true && (r.pausedUntil === null || r.pausedUntil === undefined);
      if (typeof r.pausedUntil === "number" && r.pausedUntil > (this.snoozedUntil ?? 0)) this.snoozedUntil = r.pausedUntil;
      this.serverPending = info ? info.pending : null;
      this.lastStatus = info?.raw ?? null;
      this.renderStatus();
      return this.lastStatus;
    } catch (err) {
      this.log(`proactive.status failed: ${errorText(err)}`);
      this.renderStatus();
      return null;
    }
  }

  private async showMenu(): Promise<void> {
    await this.refreshStatus();
    type Item = vscode.QuickPickItem & { run?: () => unknown };
    const items: Item[] = [];
    const needs = (c: string) => (this.has(c) ? undefined : "needs a newer server");
    for (const r of this.book.list().filter((x) => x.outcome === undefined || LATE_ANSWERABLE.has(x.outcome)).slice(0, 5)) {
      items.push({
        label: `$(bell) ${r.proposal.task}`,
        description: r.outcome ?? "waiting",
        run: () => this.reshow(r.proposal.id),
      });
    }
    if (items.length) items.push({ label: "", kind: vscode.QuickPickItemKind.Separator });
    const view = statusView({
      enabled: this.enabled,
      running: this.lifecycle,
      error: this.error,
      pending: this.isRunning ? (this.serverPending ?? this.book.pendingCount) : 0,
      snoozedUntilS: this.snoozedUntil,
      pausedIndefinitely: this.pausedIndefinitely,
    });
    if (!this.enabled) {
      items.push({ label: "$(play) Turn on", run: () => this.turnOn() });
    } else {
      if (this.book.latestAnswerable()) {
        items.push({ label: "$(check) Accept the latest proposal", description: "Ctrl+Alt+Shift+Y", run: () => this.answerLatest("accept") });
        items.push({ label: "$(close) Reject the latest proposal", description: "Ctrl+Alt+Shift+N", run: () => this.answerLatest("reject") });
      }
      if (view.state === "snoozed") {
        items.push({ label: "$(play) Resume", description: needs(CMD.resume), run: () => this.resume() });
      }
      items.push({ label: "$(clock) Snooze…", description: "for N minutes", run: () => this.snooze() });
      items.push({ label: "$(sparkle) Propose now", description: needs(CMD.proposeNow), run: () => this.proposeNow() });
      items.push({ label: "$(list-unordered) Show the proposals", run: () => vscode.commands.executeCommand("proactive.proposals.focus") });
      items.push({ label: "$(output) Show the feedback log", run: () => this.showFeedbackLog() });
      items.push({ label: "$(export) Export feedback as training data", run: () => this.exportFeedback() });
      items.push({ label: "$(graph) Open the report", run: () => this.openReport() });
      items.push({ label: "$(debug-restart) Restart the server", run: () => this.restart() });
      items.push({ label: "$(circle-slash) Turn off for this workspace", run: () => this.setEnabled(false, vscode.ConfigurationTarget.Workspace) });
      items.push({ label: "$(circle-slash) Turn off everywhere", run: () => this.setEnabled(false, vscode.ConfigurationTarget.Global) });
    }
    items.push({ label: "$(note) Show the output", run: () => this.output.show(true) });
    const pick = await vscode.window.showQuickPick(items, {
      title: `Proactive — ${view.tooltip.replace(/^Proactive:? /, "").replace(/\s*Click[^.]*\.\s*/, " ").trim()}`,
      placeHolder: "What now?",
    });
    if (pick?.run) await pick.run();
  }

  private async snooze(minutes?: number): Promise<void> {
    if (typeof minutes !== "number") {
      const items = [15, 30, 60, 120, 240].map((m) => ({ label: `${m} minutes`, minutes: m as number | undefined }));
      items.push({ label: "Other…", minutes: undefined });
      const pick = await vscode.window.showQuickPick(items, { title: "Proactive: snooze for…" });
      if (!pick) return;
      minutes = pick.minutes;
      if (minutes === undefined) {
        const typed = await vscode.window.showInputBox({
          title: "Proactive: snooze for how many minutes?",
          validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) > 0 && Number(v) <= 1440 ? null : "a whole number of minutes, 1 to 1440"),
        });
        if (!typed) return;
        minutes = Number(typed.trim());
      }
    }
    try {
      if (this.has(CMD.pause)) await this.execute(CMD.pause, [{ minutes }]);
      else await this.execute(CMD.snooze, [minutes]);
    } catch (err) {
      void vscode.window.showWarningMessage(`Proactive: snooze failed: ${errorText(err)}`);
    }
    await this.refreshStatus();
  }

  private async resume(): Promise<void> {
    if (!this.has(CMD.resume)) {
      void vscode.window.showWarningMessage("Proactive: this server cannot resume before the snooze ends (it has no proactive.resume).");
      return;
    }
    try {
      await this.execute(CMD.resume);
    } catch (err) {
      void vscode.window.showWarningMessage(`Proactive: resume failed: ${errorText(err)}`);
    }
    await this.refreshStatus();
  }

  private async proposeNow(): Promise<void> {
    if (!this.has(CMD.proposeNow)) {
      void vscode.window.showWarningMessage("Proactive: this server has no proactive.proposeNow.");
      return;
    }
    try {
      const result = (await this.execute(CMD.proposeNow)) as { proposed?: unknown } | null;
      if (result && Array.isArray(result.proposed) && result.proposed.length === 0) {
        void vscode.window.showInformationMessage("Proactive: nothing to propose right now.");
      }
    } catch (err) {
      void vscode.window.showWarningMessage(`Proactive: propose now failed: ${errorText(err)}`);
    }
  }

  private async setEnabled(value: boolean, target: vscode.ConfigurationTarget): Promise<void> {
    await this.cfg.update("enabled", value, target);
  }

  /** Clears the off switch wherever it is set (folder, workspace, user). */
  private async turnOn(): Promise<void> {
    const inspect = this.cfg.inspect<boolean>("enabled");
    if (inspect?.workspaceFolderValue === false && vscode.workspace.workspaceFolders?.[0]) {
      await vscode.workspace
        .getConfiguration("proactive", vscode.workspace.workspaceFolders[0].uri)
        .update("enabled", undefined, vscode.ConfigurationTarget.WorkspaceFolder);
    }
    if (inspect?.workspaceValue === false) await this.cfg.update("enabled", undefined, vscode.ConfigurationTarget.Workspace);
    if (inspect?.globalValue === false) await this.cfg.update("enabled", undefined, vscode.ConfigurationTarget.Global);
  }

  // --- feedback log, export, report --------------------------------------------------------------

  private async feedbackLogPath(): Promise<string | undefined> {
    const status = await this.refreshStatus();
    const log = status?.feedbackLog;
    if (typeof log === "string" && log) return log;
    void vscode.window.showWarningMessage("Proactive: the server is not running, so its feedback log is not known.");
    return undefined;
  }

  private async showFeedbackLog(): Promise<void> {
    const log = await this.feedbackLogPath();
    if (!log) return;
    try {
      await fs.stat(log);
    } catch {
      void vscode.window.showInformationMessage(`Proactive: no outcome recorded yet (${log} does not exist).`);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(log));
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  /** The CLI of the server that runs: the managed environment's Python, else serverCommand with the args before `serve`. */
  private cli(): { command: string; prefix: string[] } | undefined {
    const launch = this.launch;
    if (!launch) return undefined;
    if (launch.python) return { command: launch.python, prefix: ["-m", "proactive_ls"] };
    const serve = launch.args.indexOf("serve");
    return { command: launch.command, prefix: serve >= 0 ? launch.args.slice(0, serve) : [] };
  }

  private runCli(args: string[]): Promise<string> {
    const cli = this.cli();
    if (!cli) return Promise.reject(new Error("the server has not been started yet"));
    this.log(`running ${cli.command} ${[...cli.prefix, ...args].join(" ")}`);
    return new Promise((resolve, reject) => {
      execFile(cli.command, [...cli.prefix, ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error((stderr || err.message).trim().split("\n").slice(-3).join(" ")));
        else resolve(stdout);
      });
    });
  }

  private async exportFeedback(): Promise<void> {
    const log = await this.feedbackLogPath();
    if (!log) return;
    const format = await vscode.window.showQuickPick(
      [
        { label: "reward", description: "one example per outcome, for a reward model" },
        { label: "preference", description: "accepted vs rejected pairs" },
        { label: "sft", description: "accepted proposals, for fine-tuning" },
      ],
      { title: "Proactive: export the feedback log as…" },
    );
    if (!format) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const out = await vscode.window.showSaveDialog({
      title: "Proactive: export to",
      defaultUri: folder ? vscode.Uri.joinPath(folder, `proactive-${format.label}.jsonl`) : undefined,
      filters: { "JSON lines": ["jsonl"] },
    });
    if (!out) return;
    try {
      await this.runCli(["export", "--format", format.label, "--feedback-log", log, "--out", out.fsPath]);
      const pick = await vscode.window.showInformationMessage(`Proactive: exported to ${out.fsPath}.`, "Open");
      if (pick === "Open") await vscode.window.showTextDocument(out);
    } catch (err) {
      void vscode.window.showWarningMessage(`Proactive: export failed: ${errorText(err)}`);
    }
  }

  private async openReport(): Promise<void> {
    const log = await this.feedbackLogPath();
    if (!log) return;
    const out = path.join(this.context.globalStorageUri.fsPath, "report.html");
    await fs.mkdir(path.dirname(out), { recursive: true });
    try {
      await this.runCli(["report", "--feedback-log", log, "--out", out]);
    } catch (err) {
      void vscode.window.showWarningMessage(`Proactive: the report could not be made (${errorText(err)}); it needs proactive-ls with the report command.`);
      return;
    }
    const panel = vscode.window.createWebviewPanel("proactive.report", "Proactive report", vscode.ViewColumn.Active, {
      enableScripts: true,
    });
    panel.webview.html = await fs.readFile(out, "utf8");
  }

  // --- settings --------------------------------------------------------------------------------

  /** The server's settings: each typed `proactive.*` server key, over the deprecated `proactive.settings` object. */
  private settingsForServer(): Record<string, unknown> {
    const cfg = this.cfg;
    return serverSettings(this.serverKeys, (k) => cfg.get(k), cfg.get<Record<string, unknown>>("settings", {}));
  }

  private onConfiguration(e: vscode.ConfigurationChangeEvent): void {
    if (!e.affectsConfiguration("proactive")) return;
    if (e.affectsConfiguration("proactive.enabled") && !this.serverHasEnabled) {
      this.updateContexts();
      if (this.enabled) void this.start();
      else void this.stop().then(() => this.log("turned off"));
      return;
    }
    if (RESTART_KEYS.some((k) => e.affectsConfiguration(`proactive.${k}`))) {
      this.log("the server command changed: restarting");
      void this.restart();
      return;
    }
    const touched = ["settings", ...this.serverKeys].some((k) => e.affectsConfiguration(`proactive.${k}`));
    this.updateContexts();
    this.renderStatus();
    if (!touched || !this.client || !this.isRunning) return;
    const settings = { proactive: this.settingsForServer() };
    this.log(`settings changed: ${JSON.stringify(settings.proactive)}`);
    void this.client
      .sendNotification(DidChangeConfigurationNotification.type, { settings })
      .then(() => this.refreshStatus())
      .catch((err) => this.log(`workspace/didChangeConfiguration failed: ${errorText(err)}`));
  }

  // --- diagnostics from other sources ----------------------------------------------------------

  private onDiagnostics(e: vscode.DiagnosticChangeEvent): void {
    if ((!this.enabled && !this.serverHasEnabled) || !this.cfg.get<boolean>("forwardDiagnostics", true)) return;
    for (const uri of e.uris) {
      if (uri.scheme === "file") this.diagDebouncer.trigger(uri.toString());
    }
  }

  private forwardDiagnostics(uriText: string): void {
    const uri = vscode.Uri.parse(uriText);
    this.send("proactive/diagnostics", diagnosticsParams(uriText, vscode.languages.getDiagnostics(uri)));
  }

  // --- terminal commands (shell integration) ---------------------------------------------------

  private onExecutionStart(e: vscode.TerminalShellExecutionStartEvent): void {
    const buffer = new TailBuffer();
    // read() must start now: output printed before the first read is not replayed.
    const stream = e.execution.read();
    const drained = (async () => {
      try {
        for await (const chunk of stream) buffer.push(chunk);
      } catch (err) {
        this.log(`reading terminal output failed: ${errorText(err)}`);
      }
    })();
    this.running.set(e.execution, { buffer, startedAtMs: Date.now(), drained });
  }

  private async onExecutionEnd(e: vscode.TerminalShellExecutionEndEvent): Promise<void> {
    const endedAtMs = Date.now();
    const run = this.running.get(e.execution);
    this.running.delete(e.execution);
    if (!run) return;
    if ((!this.enabled && !this.serverHasEnabled) || !this.cfg.get<boolean>("forwardTerminal", true)) return;
    await Promise.race([run.drained, new Promise((r) => setTimeout(r, OUTPUT_DRAIN_MS))]);
    const params = terminalCommandParams({
      commandLine: e.execution.commandLine.value,
      cwd: e.execution.cwd?.scheme === "file" ? e.execution.cwd.fsPath : e.execution.cwd?.toString(),
      exitCode: e.exitCode,
      output: run.buffer,
      startedAtMs: run.startedAtMs,
      endedAtMs,
    });
    if (!params) return;
    if (!this.isRunning) this.log(`server not ready: queued "${params.commandLine}"`);
    this.send("proactive/terminalCommand", params);
  }

  dispose(): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.diagDebouncer.dispose();
    this.running.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

let active: ProactiveClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  active = new ProactiveClient(context);
  active.activate();
  // Not awaited: creating the managed environment on first start can take a while; the status bar shows it.
  void active.start();
}

export async function deactivate(): Promise<void> {
  const client = active;
  active = undefined;
  if (client) {
    await client.stop();
    client.dispose();
  }
}
