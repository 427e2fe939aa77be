/**
 * VS Code client for proactive-ls: starts the server over stdio, shows its proposals as notifications,
 * and forwards what the server cannot see itself (terminal commands, other extensions' diagnostics).
 */

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
  DIAGNOSTICS_DEBOUNCE_MS,
  KeyedDebouncer,
  ProposalBook,
  ProposalPayload,
  TailBuffer,
  commandForChoice,
  diagnosticsParams,
  notificationFor,
  parseProposal,
  parseStatus,
  statusBarText,
  terminalCommandParams,
} from "./logic";

const CLIENT_ID = "proactive";
/** How long the end of a command waits for its output stream to drain. */
const OUTPUT_DRAIN_MS = 1000;
/** Refresh the status bar this often, so a snooze countdown moves. */
const STATUS_REFRESH_MS = 60_000;

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

class ProactiveClient implements vscode.Disposable {
  private readonly client: LanguageClient;
  private readonly book = new ProposalBook();
  private readonly statusItem: vscode.StatusBarItem;
  private readonly output: vscode.OutputChannel;
  private readonly running = new Map<vscode.TerminalShellExecution, Running>();
  private readonly diagDebouncer: KeyedDebouncer<string>;
  private readonly disposables: vscode.Disposable[] = [];
  private snoozedUntil: number | null = null;
  /** The server's own count of unanswered proposals, from proactive.status; null until it answered. */
  private serverPending: number | null = null;
  private statusTimer: ReturnType<typeof setInterval> | undefined;

  constructor() {
    const cfg = vscode.workspace.getConfiguration("proactive");
    // No `transport`: TransportKind.stdio would append "--stdio" to the arguments, which
    // `proactive-ls serve` does not take; without it the client still speaks over stdin/stdout.
    const serverOptions: ServerOptions = {
      command: cfg.get<string>("serverCommand", "proactive-ls"),
      args: cfg.get<string[]>("serverArgs", ["serve"]),
    };
    this.output = vscode.window.createOutputChannel("Proactive");
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      initializationOptions: cfg.get<Record<string, unknown>>("settings", {}),
      outputChannel: this.output,
    };
    this.client = new LanguageClient(CLIENT_ID, "Proactive", serverOptions, clientOptions);
    this.client.registerFeature(new ProposalsCapability());

    this.statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 50);
    this.statusItem.command = "proactive.client.showStatus";
    this.statusItem.name = "Proactive";
    this.renderStatus();
    this.statusItem.show();

    this.diagDebouncer = new KeyedDebouncer<string>(DIAGNOSTICS_DEBOUNCE_MS, (uri) => this.forwardDiagnostics(uri));
  }

  async start(context: vscode.ExtensionContext): Promise<void> {
    this.disposables.push(
      this.client.onNotification("proactive/proposal", (raw: unknown) => this.onProposal(raw)),
      this.client.onNotification("proactive/proposalResolved", (raw: { id?: string; outcome?: string }) => {
        if (raw && typeof raw.id === "string") this.book.resolve(raw.id, raw.outcome ?? "resolved");
        void this.refreshStatus();
      }),
      this.client.onDidChangeState((e) => {
        if (e.newState === State.Stopped) {
          this.book.clear();
          this.renderStatus();
        }
      }),
      vscode.commands.registerCommand("proactive.client.showStatus", () => this.showStatus()),
      vscode.commands.registerCommand("proactive.client.snooze", (minutes?: number) => this.snooze(minutes)),
      vscode.languages.onDidChangeDiagnostics((e) => this.onDiagnostics(e)),
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfiguration(e)),
      vscode.window.onDidStartTerminalShellExecution((e) => this.onExecutionStart(e)),
      vscode.window.onDidEndTerminalShellExecution((e) => void this.onExecutionEnd(e)),
      this.statusItem,
      this.output,
    );
    this.statusTimer = setInterval(() => void this.refreshStatus(), STATUS_REFRESH_MS);
    context.subscriptions.push(this);
    await this.client.start();
    await this.refreshStatus();
  }

  // --- proposals -------------------------------------------------------------------------------

  private onProposal(raw: unknown): void {
    const proposal = parseProposal(raw);
    if (typeof proposal === "string") {
      this.output.appendLine(`Ignored a malformed proactive/proposal: ${proposal}`);
      return;
    }
    this.book.add(proposal);
    if (this.serverPending !== null) this.serverPending += 1;
    this.renderStatus();
    void this.ask(proposal);
  }

  /** Shows the proposal; the notification stays until the user answers or closes it (VS Code cannot close it for us). */
  private async ask(proposal: ProposalPayload): Promise<void> {
    const spec = notificationFor(proposal);
    const choice = await vscode.window.showInformationMessage(spec.text, ...spec.buttons);
    const cmd = commandForChoice(choice, proposal.id, this.book.outcome(proposal.id));
    if (!cmd) return;
    try {
      await this.executeServerCommand(cmd.command, cmd.arguments);
      this.book.resolve(proposal.id, cmd.command === "proactive.accept" ? "accepted" : "rejected");
    } catch (err) {
      void vscode.window.showWarningMessage(`Proactive: ${cmd.command} failed: ${errorText(err)}`);
    }
    await this.refreshStatus();
  }

  private executeServerCommand(command: string, args: unknown[]): Promise<unknown> {
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  // --- status and snooze -----------------------------------------------------------------------

  private get pending(): number {
    return this.serverPending ?? this.book.pendingCount;
  }

  private renderStatus(): void {
    const pending = this.pending;
    this.statusItem.text = statusBarText(pending, this.snoozedUntil);
    this.statusItem.tooltip =
      this.snoozedUntil !== null
        ? `Proactive: snoozed until ${new Date(this.snoozedUntil * 1000).toLocaleTimeString()}`
        : `Proactive: ${pending} proposal${pending === 1 ? "" : "s"} waiting for an answer`;
  }

  private async refreshStatus(): Promise<Record<string, unknown> | null> {
    if (!this.client.isRunning()) {
      this.renderStatus();
      return null;
    }
    try {
      const info = parseStatus(await this.executeServerCommand("proactive.status", []));
      this.snoozedUntil = info?.snoozedUntil ?? null;
      this.serverPending = info ? info.pending : null;
      this.renderStatus();
      return info?.raw ?? null;
    } catch (err) {
      this.output.appendLine(`proactive.status failed: ${errorText(err)}`);
      this.renderStatus();
      return null;
    }
  }

  private async showStatus(): Promise<void> {
    const raw = await this.refreshStatus();
    if (raw === null) {
      void vscode.window.showWarningMessage("Proactive: the server is not running (see the Proactive output).");
      return;
    }
    this.output.appendLine(`status: ${JSON.stringify(raw)}`);
    const pending = this.pending;
    const snooze =
      this.snoozedUntil !== null ? `snoozed until ${new Date(this.snoozedUntil * 1000).toLocaleTimeString()}` : "not snoozed";
    const pick = await vscode.window.showInformationMessage(
      `Proactive: ${pending} proposal${pending === 1 ? "" : "s"} waiting, ${snooze}.`,
      "Details",
      "Snooze",
    );
    if (pick === "Details") this.output.show(true);
    if (pick === "Snooze") await this.snooze();
  }

  private async snooze(minutes?: number): Promise<void> {
    if (typeof minutes !== "number") {
      const items = [15, 30, 60, 120, 240].map((m) => ({ label: `${m} minutes`, minutes: m }));
      const pick = await vscode.window.showQuickPick(items, { placeHolder: "Snooze proposals for…" });
      if (!pick) return;
      minutes = pick.minutes;
    }
    try {
      await this.executeServerCommand("proactive.snooze", [minutes]);
    } catch (err) {
      void vscode.window.showWarningMessage(`Proactive: snooze failed: ${errorText(err)}`);
    }
    await this.refreshStatus();
  }

  // --- settings --------------------------------------------------------------------------------

  /** Sends `proactive.settings` as they are: the server reads the object itself as its settings. */
  private onConfiguration(e: vscode.ConfigurationChangeEvent): void {
    if (e.affectsConfiguration("proactive.serverCommand") || e.affectsConfiguration("proactive.serverArgs")) {
      void vscode.window
        .showInformationMessage("Proactive: the server command changed; restart the server to use it.", "Restart")
        .then((pick) => (pick === "Restart" ? vscode.commands.executeCommand("workbench.action.reloadWindow") : undefined));
    }
    if (!e.affectsConfiguration("proactive.settings") || !this.client.isRunning()) return;
    const settings = vscode.workspace.getConfiguration("proactive").get<Record<string, unknown>>("settings", {});
    void this.client.sendNotification(DidChangeConfigurationNotification.type, { settings }).catch((err) => {
      this.output.appendLine(`workspace/didChangeConfiguration failed: ${errorText(err)}`);
    });
  }

  // --- diagnostics from other sources ----------------------------------------------------------

  private onDiagnostics(e: vscode.DiagnosticChangeEvent): void {
    if (!vscode.workspace.getConfiguration("proactive").get<boolean>("forwardDiagnostics", true)) return;
    for (const uri of e.uris) {
      if (uri.scheme === "file") this.diagDebouncer.trigger(uri.toString());
    }
  }

  private forwardDiagnostics(uriText: string): void {
    if (!this.client.isRunning()) return;
    const uri = vscode.Uri.parse(uriText);
    const params = diagnosticsParams(uriText, vscode.languages.getDiagnostics(uri));
    void this.client.sendNotification("proactive/diagnostics", params).catch((err) => {
      this.output.appendLine(`proactive/diagnostics failed: ${errorText(err)}`);
    });
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
        this.output.appendLine(`reading terminal output failed: ${errorText(err)}`);
      }
    })();
    this.running.set(e.execution, { buffer, startedAtMs: Date.now(), drained });
  }

  private async onExecutionEnd(e: vscode.TerminalShellExecutionEndEvent): Promise<void> {
    const endedAtMs = Date.now();
    const run = this.running.get(e.execution);
    this.running.delete(e.execution);
    if (!run) return;
    if (!vscode.workspace.getConfiguration("proactive").get<boolean>("forwardTerminal", true)) return;
    await Promise.race([run.drained, new Promise((r) => setTimeout(r, OUTPUT_DRAIN_MS))]);
    const params = terminalCommandParams({
      commandLine: e.execution.commandLine.value,
      cwd: e.execution.cwd?.scheme === "file" ? e.execution.cwd.fsPath : e.execution.cwd?.toString(),
      exitCode: e.exitCode,
      output: run.buffer,
      startedAtMs: run.startedAtMs,
      endedAtMs,
    });
    if (!params || !this.client.isRunning()) return;
    try {
      await this.client.sendNotification("proactive/terminalCommand", params);
    } catch (err) {
      this.output.appendLine(`proactive/terminalCommand failed: ${errorText(err)}`);
    }
  }

  // --- lifecycle -------------------------------------------------------------------------------

  async stop(): Promise<void> {
    if (this.client.needsStop()) await this.client.stop();
  }

  dispose(): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.diagDebouncer.dispose();
    this.running.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let active: ProactiveClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  active = new ProactiveClient();
  try {
    await active.start(context);
  } catch (err) {
    void vscode.window.showErrorMessage(
      `Proactive: could not start the server (${errorText(err)}). Check the setting proactive.serverCommand.`,
    );
  }
}

export async function deactivate(): Promise<void> {
  const client = active;
  active = undefined;
  if (client) {
    await client.stop();
    client.dispose();
  }
}
