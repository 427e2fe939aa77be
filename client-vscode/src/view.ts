/**
 * The "Proactive" view: recent proposals, newest first, each with its outcome and, as children,
 * the events that led to it. A pending (or timed-out) proposal can be answered from its row.
 */

import * as vscode from "vscode";
import { LATE_ANSWERABLE, ProposalBook, ProposalRecord, observationLines } from "./logic";

type Node = { kind: "proposal"; record: ProposalRecord } | { kind: "event"; text: string; time: string; parent: string };

const OUTCOME_ICON: Record<string, string> = {
  accepted: "check",
  rejected: "close",
  ignored: "eye-closed",
  snoozed: "clock",
};

function age(ms: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return new Date(ms).toLocaleTimeString();
}

export class ProposalsView implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly book: ProposalBook) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.book.list().map((record) => ({ kind: "proposal", record }));
    if (node.kind === "proposal") {
      const lines = observationLines(node.record.proposal);
      return lines.map(({ text, time }) => ({ kind: "event", text, time, parent: node.record.proposal.id }));
    }
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === "event") {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon("debug-stackframe-dot");
      // The time of day is enough beside the event; the tooltip has the whole stamp.
      item.description = node.time.split(" ").pop() ?? "";
      item.tooltip = node.time ? `${node.time}\n${node.text}` : node.text;
      return item;
    }
    const { record } = node;
    const p = record.proposal;
    const outcome = record.outcome;
    const answerable = outcome === undefined || LATE_ANSWERABLE.has(outcome);
    const hasEvents = observationLines(p).length > 0;
    const item = new vscode.TreeItem(
      p.task,
      hasEvents ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = p.id;
    item.description = `${outcome ?? "waiting"} · ${age(record.receivedAtMs, Date.now())}`;
    item.iconPath = new vscode.ThemeIcon(outcome === undefined ? "bell-dot" : (OUTCOME_ICON[outcome.split(" ")[0]] ?? "circle-outline"));
    const tip = new vscode.MarkdownString();
    tip.appendMarkdown(`**${p.task}**\n\n`);
    tip.appendText(`${p.message}\n\n`);
    if (p.purpose) tip.appendText(`Why: ${p.purpose}\n\n`);
    tip.appendText(`Outcome: ${outcome ?? "waiting for an answer"}`);
    item.tooltip = tip;
    item.accessibilityInformation = { label: `${p.task}, ${outcome ?? "waiting"}` };
    item.contextValue = answerable ? "proposal answerable" : "proposal";
    item.command = { command: "proactive.client.showProposal", title: "Show this proposal again", arguments: [p.id] };
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The proposal id a view command was invoked on (a row, or an id passed by a test or keybinding). */
export function proposalIdOf(arg: unknown): string | undefined {
  if (typeof arg === "string") return arg;
  if (arg && typeof arg === "object") {
    const node = arg as Partial<Node> & { id?: unknown };
    if (node.kind === "proposal" && node.record) return node.record.proposal.id;
    if (typeof node.id === "string") return node.id;
  }
  return undefined;
}
