/** Linux /proc readers: who listens on a port, a process's peak RSS and CPU time. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat, 100 on every common Linux architecture. */
const TICKS_PER_SECOND = 100;
const TCP_LISTEN = '0A';

function pids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** The fields of /proc/<pid>/stat after `comm` (which may hold spaces), so index 0 is `state`. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // the process ended meanwhile
  }
}

function descendants(rootPid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const pid of pids()) {
    const ppid = Number(statFields(pid)?.[1]);
    childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [rootPid];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const children = childrenOf.get(pid) ?? [];
    found.push(...children);
    queue.push(...children);
  }
  return found;
}

function listeningInodes(port: number): Set<string> {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns[1]?.endsWith(portHex) && columns[3] === TCP_LISTEN && columns[9]) inodes.add(columns[9]);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      const match = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
      return match !== null && inodes.has(match[1]!);
    });
  } catch {
    return false;
  }
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** The process in `rootPid`'s tree (itself included) that holds the socket listening on `port`. */
export function listeningProcess(rootPid: number, port: number): number | undefined {
  const inodes = listeningInodes(port);
  return [rootPid, ...descendants(rootPid)].find((pid) => holdsSocket(pid, inodes));
}

/** VmHWM: the peak resident set size of `pid`, in bytes. */
export function peakRssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmHWM:'));
  const kb = Number(line?.match(/(\d+)\s*kB/)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return kb * 1024;
}

/** User + system CPU seconds `pid` has used, all its threads included; undefined once it has ended. */
export function cpuSeconds(pid: number): number | undefined {
  const fields = statFields(pid);
  if (!fields) return undefined;
  // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after comm.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * PostgreSQL backends serving `database` on this machine, told by their process title
 * ("postgres: 15/main: user database host(port) state").
 */
export function backendsOf(database: string): number[] {
  return pids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres' && processTitle(pid).includes(` ${database} `);
    } catch {
      return false;
    }
  });
}

function processTitle(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
}

/** CPU seconds all cores of the machine spent busy (anything but idle and iowait) since boot. */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already counted in user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}
