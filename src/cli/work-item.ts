// dev-nexus work-item ...: the work tracker's commands. Parse, call the tracker, print.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { openWorkspace } from '../automation/workspace.js';
import { projectConfigPath } from '../config/project.js';
import { openLocalTracker } from '../trackers/local/index.js';
import { WORK_ITEM_STATUSES, type WorkItem, type WorkItemStatus, type WorkTracker } from '../trackers/types.js';
import { CliError, action, printResult } from './output.js';

interface JsonOption {
  json?: boolean;
}

interface TrackerOptions {
  component?: string;
  tracker?: string;
}

/**
 * The one place that decides which tracker a command talks to: the one dev-nexus.project.json
 * selects (--component / --tracker), or, in a workspace without one yet, its local tracker.
 */
export async function openWorkTracker(workspaceRoot: string, options: TrackerOptions = {}): Promise<WorkTracker> {
  if (existsSync(projectConfigPath(workspaceRoot))) {
    return (await openWorkspace({ workspaceRoot, componentId: options.component, trackerId: options.tracker })).tracker;
  }
  if (options.component || options.tracker) {
    throw new CliError('config_missing', `--component and --tracker need ${projectConfigPath(workspaceRoot)}; create it with: dev-nexus init ${workspaceRoot}`);
  }
  return openLocalTracker(workspaceRoot, { trackerId: 'local' });
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Registers `work-item` and returns the group, so other command sets (claims) can add to it. */
export function registerWorkItemCommands(program: Command): Command {
  const group = program
    .command('work-item')
    .description('work items of the local tracker (<workspace-root>/.dev-nexus/work-items/)')
    .addHelpText(
      'after',
      `
Examples:
  dev-nexus work-item add . --title "Fix login timeout" --label bug --priority 10
  dev-nexus work-item list . --status ready --label bug
  dev-nexus work-item show . wi-20250101-a1b2c3 --json
  dev-nexus work-item comment . wi-20250101-a1b2c3 --body "reproduced on main"
  dev-nexus work-item set-status . wi-20250101-a1b2c3 done
`,
    );
  registerAdd(group);
  registerList(group);
  registerShow(group);
  registerComment(group);
  registerSetStatus(group);
  return group;
}

function registerAdd(group: Command): void {
  group
    .command('add')
    .description('add a work item (status ready)')
    .argument('<workspace-root>', 'the workspace whose tracker holds the item')
    .requiredOption('--title <title>', 'one line, at most 500 characters')
    .option('--id <id>', 'item id (1-128 of A-Z a-z 0-9 . _ -); generated as wi-<yyyymmdd>-<random6> when absent')
    .option('--body <text>', 'description', '')
    .option('--label <label>', 'a label; repeat for several', collect, [])
    .option('--priority <n>', 'integer 0..1000000, lower is more urgent', '100')
    .option('--component <id>', 'component whose tracker to use (default: the primary component)')
    .option('--tracker <id>', 'tracker of that component (default: its default tracker)')
    .option('--json', 'print one JSON object: { ok, workItem }')
    .addHelpText('after', '\nExample:\n  dev-nexus work-item add . --title "Fix login timeout" --label bug --label area/auth --priority 10 --json\n')
    .action(
      action(async (root: string, options: JsonOption & TrackerOptions & { title: string; id?: string; body: string; label: string[]; priority: string }) => {
        const tracker = await openWorkTracker(root, options);
        const item = await tracker.add({
          ...(options.id === undefined ? {} : { id: options.id }),
          title: options.title,
          body: options.body,
          labels: options.label,
          priority: parsePriority(options.priority),
        });
        printResult(options, { workItem: item }, () => `added ${item.id}: ${item.title} (${item.status}, priority ${item.priority})`);
      }),
    );
}

function registerList(group: Command): void {
  group
    .command('list')
    .description('list work items, sorted by id')
    .argument('<workspace-root>', 'the workspace whose tracker holds the items')
    .option('--status <status>', `only items with this status (${WORK_ITEM_STATUSES.join(', ')}); repeat for several`, collect, [])
    .option('--label <label>', 'only items carrying this label; repeat to require several', collect, [])
    .option('--component <id>', 'component whose tracker to use (default: the primary component)')
    .option('--tracker <id>', 'tracker of that component (default: its default tracker)')
    .option('--json', 'print one JSON object: { ok, workItems }')
    .addHelpText('after', '\nExample:\n  dev-nexus work-item list . --status ready --status blocked --label bug\n')
    .action(
      action(async (root: string, options: JsonOption & TrackerOptions & { status: string[]; label: string[] }) => {
        const tracker = await openWorkTracker(root, options);
        const items = await tracker.list({ statuses: options.status as WorkItemStatus[], labels: options.label });
        printResult(options, { workItems: items }, () => formatTable(items));
      }),
    );
}

function registerShow(group: Command): void {
  group
    .command('show')
    .description('show one work item with its comments')
    .argument('<workspace-root>', 'the workspace whose tracker holds the item')
    .argument('<id>', 'work item id')
    .option('--component <id>', 'component whose tracker to use (default: the primary component)')
    .option('--tracker <id>', 'tracker of that component (default: its default tracker)')
    .option('--json', 'print one JSON object: { ok, workItem }')
    .addHelpText('after', '\nExample:\n  dev-nexus work-item show . wi-20250101-a1b2c3\n')
    .action(
      action(async (root: string, id: string, options: JsonOption & TrackerOptions) => {
        const item = await (await openWorkTracker(root, options)).get(id);
        printResult(options, { workItem: item }, () => formatItem(item));
      }),
    );
}

function registerComment(group: Command): void {
  group
    .command('comment')
    .description('append a comment to a work item')
    .argument('<workspace-root>', 'the workspace whose tracker holds the item')
    .argument('<id>', 'work item id')
    .requiredOption('--body <text>', 'the comment text')
    .option('--author <name>', 'who is commenting', 'dev-nexus')
    .option('--component <id>', 'component whose tracker to use (default: the primary component)')
    .option('--tracker <id>', 'tracker of that component (default: its default tracker)')
    .option('--json', 'print one JSON object: { ok, workItem }')
    .addHelpText('after', '\nExample:\n  dev-nexus work-item comment . wi-20250101-a1b2c3 --body "reproduced on main" --author alice\n')
    .action(
      action(async (root: string, id: string, options: JsonOption & TrackerOptions & { body: string; author: string }) => {
        const item = await (await openWorkTracker(root, options)).comment(id, { body: options.body, author: options.author });
        const added = item.comments[item.comments.length - 1];
        printResult(options, { workItem: item }, () => `commented on ${item.id} (${added?.id}, revision ${item.revision})`);
      }),
    );
}

function registerSetStatus(group: Command): void {
  group
    .command('set-status')
    .description(`set a work item's status: ${WORK_ITEM_STATUSES.join(' | ')}`)
    .argument('<workspace-root>', 'the workspace whose tracker holds the item')
    .argument('<id>', 'work item id')
    .argument('<status>', WORK_ITEM_STATUSES.join(' | '))
    .option('--component <id>', 'component whose tracker to use (default: the primary component)')
    .option('--tracker <id>', 'tracker of that component (default: its default tracker)')
    .option('--json', 'print one JSON object: { ok, workItem }')
    .addHelpText('after', '\nExample:\n  dev-nexus work-item set-status . wi-20250101-a1b2c3 blocked\n')
    .action(
      action(async (root: string, id: string, status: string, options: JsonOption & TrackerOptions) => {
        const item = await (await openWorkTracker(root, options)).setStatus(id, status as WorkItemStatus);
        printResult(options, { workItem: item }, () => `${item.id} is now ${item.status} (revision ${item.revision})`);
      }),
    );
}

/** Only the text-to-number step; the tracker checks the range. "1e3" or "10abc" are refused, not guessed. */
function parsePriority(text: string): number {
  if (!/^\d{1,7}$/.test(text)) {
    throw new CliError('invalid_work_item', `invalid priority: ${JSON.stringify(text.slice(0, 32))}: a priority is an integer from 0 to 1000000, lower is more urgent`);
  }
  return Number(text);
}

// Text output only: bodies and comments are free text, so escape control characters that a
// terminal would interpret (the JSON output is already escaped).
function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function formatTable(items: readonly WorkItem[]): string {
  if (items.length === 0) return 'no work items';
  const rows = items.map((i) => [i.id, i.status, String(i.priority), i.labels.join(','), i.title]);
  const header = ['ID', 'STATUS', 'PRIORITY', 'LABELS', 'TITLE'];
  const widths = header.slice(0, -1).map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  const line = (cells: string[]) => cells.map((c, col) => (col < widths.length ? c.padEnd(widths[col]!) : c)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function formatItem(item: WorkItem): string {
  const lines = [
    `${item.id}: ${item.title}`,
    `status: ${item.status}   priority: ${item.priority}   revision: ${item.revision}`,
    `labels: ${item.labels.join(', ') || '(none)'}`,
    `created: ${item.createdAt}   updated: ${item.updatedAt}`,
  ];
  if (item.claim) lines.push(`claim: ${JSON.stringify(item.claim)}`);
  if (item.body) lines.push('', printable(item.body));
  for (const c of item.comments) lines.push('', `[${c.id}] ${c.author} at ${c.createdAt}:`, printable(c.body));
  return lines.join('\n');
}
