/** The ledger and the recent tasks: pages of 20, newest first, "Older" reading the next by cursor. */
import { api } from './api.client.js';
import { $, table, usdc, when } from './page.client.js';

interface LedgerEntry {
  createdAt: string;
  kind: string;
  amountMicroUsdc: string;
  taskId: string | null;
  tool: string | null;
  reason: string | null;
}
interface Task {
  createdAt: string;
  tool: string | null;
  state: string;
  metadata: { charged: boolean; cost_micro_usdc: string };
}

let ledgerRows: LedgerEntry[] = [],
  ledgerCursor: string | null = null,
  taskRows: Task[] = [],
  taskCursor: string | null = null;

export async function loadLedger(more: boolean) {
  const page = await api<{ entries: LedgerEntry[]; nextCursor: string | null }>(
    '/v1/ledger?limit=20' + (more && ledgerCursor ? '&cursor=' + ledgerCursor : ''),
  );
  ledgerRows = more ? ledgerRows.concat(page.entries) : page.entries;
  ledgerCursor = page.nextCursor;
  table(
    'ledger',
    [['When', 'when'], ['Kind'], ['Tool'], ['Amount', 'num'], ['Task / reason']],
    // A task by its first 8 characters (the ledger CSV has the whole id): a UUID would make every row two lines on a phone.
    ledgerRows.map((e) => [
      when(e.createdAt),
      e.kind,
      e.tool || '—',
      usdc(e.amountMicroUsdc),
      e.taskId ? e.taskId.slice(0, 8) + '…' : e.reason || '',
    ]),
    'No ledger entries yet.',
  );
  $('ledger-more').hidden = !ledgerCursor;
}

export async function loadTasks(more: boolean) {
  const page = await api<{ tasks: Task[]; nextCursor: string | null }>(
    '/v1/tasks?limit=20' + (more && taskCursor ? '&cursor=' + encodeURIComponent(taskCursor) : ''),
  );
  taskRows = more ? taskRows.concat(page.tasks) : page.tasks;
  taskCursor = page.nextCursor;
  table(
    'tasks',
    [['When', 'when'], ['Tool'], ['State'], ['Cost', 'num']],
    taskRows.map((t) => [when(t.createdAt), t.tool || '—', t.state, usdc(t.metadata.charged ? t.metadata.cost_micro_usdc : '0')]),
    'No tasks yet.',
  );
  $('tasks-more').hidden = !taskCursor;
}

export function wireHistory() {
  $('ledger-more').onclick = () => loadLedger(true);
  $('tasks-more').onclick = () => loadTasks(true);
}
