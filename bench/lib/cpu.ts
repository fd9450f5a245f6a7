// CPU accounting from /proc, so a throughput figure can be split into client and server
// CPU per operation (and into what the other tenants of this shared machine took meanwhile).
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux default.
}

/** Fields of /proc/<pid>/stat after the command name. Index 0 is field 3 (state). */
function statFields(pid: number | string): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function isPostgres(pid: number): boolean {
  try {
    return /^postgres/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
  } catch {
    return false;
  }
}

const ticksToMs = (ticks: number) => (ticks * 1000) / clockTicks;

/** Whole-machine busy and total CPU time (ms, summed over cores) from /proc/stat. */
export function machineCpu(): { busyMs: number; totalMs: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
    const busy = user + nice + system + irq + softirq + steal;
    return { busyMs: ticksToMs(busy), totalMs: ticksToMs(busy + idle + iowait) };
  } catch {
    return null;
  }
}

/**
 * CPU time of a PostgreSQL server running on this machine: the postmaster, its live children
 * (backends, background workers) and the children it already reaped (cutime/cstime).
 */
export class ServerCpu {
  constructor(readonly postmasterPid: number) {}

  /**
   * The server's CPU is readable only when it runs on this machine in this PID namespace (not
   * remote, not in a container): the backend's pid must be a postgres process here, and so its parent.
   */
  static fromBackendPid(backendPid: number): ServerCpu | null {
    const fields = statFields(backendPid);
    if (!fields || !isPostgres(backendPid)) return null;
    const ppid = Number(fields[1]);
    return Number.isInteger(ppid) && ppid > 1 && isPostgres(ppid) ? new ServerCpu(ppid) : null;
  }

  /** Total server CPU so far, in ms. */
  totalMs(): number {
    // A backend reaped between reading the postmaster's cutime and scanning its children would
    // be counted nowhere: read the postmaster on both sides of the scan and retry if it changed.
    for (let attempt = 0; ; attempt += 1) {
      const before = statFields(this.postmasterPid);
      if (!before) return NaN;
      let ticks = 0;
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        const f = statFields(name);
        if (f && Number(f[1]) === this.postmasterPid) ticks += Number(f[11]) + Number(f[12]);
      }
      const after = statFields(this.postmasterPid);
      if (!after) return NaN;
      // utime(14) stime(15) cutime(16) cstime(17): indexes 11..14 here.
      const own = (f: string[]) => Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      if (own(before) === own(after) || attempt >= 5) return ticksToMs(ticks + own(after));
    }
  }
}

export interface CpuSpan {
  wallMs: number;
  /** This Node process. */
  nodeMs: number;
  /** The PostgreSQL server, when it runs here; NaN otherwise. */
  serverMs: number;
  /** Whole machine busy time. */
  machineBusyMs: number;
  machineTotalMs: number;
}

/** Start a measurement; call the returned function to end it. */
export function cpuSpan(server: ServerCpu | null): () => CpuSpan {
  const t0 = performance.now();
  const n0 = process.cpuUsage();
  const s0 = server ? server.totalMs() : NaN;
  const m0 = machineCpu();
  return () => {
    const n1 = process.cpuUsage(n0);
    const s1 = server ? server.totalMs() : NaN;
    const m1 = machineCpu();
    return {
      wallMs: performance.now() - t0,
      nodeMs: (n1.user + n1.system) / 1000,
      serverMs: s1 - s0,
      machineBusyMs: m0 && m1 ? m1.busyMs - m0.busyMs : NaN,
      machineTotalMs: m0 && m1 ? m1.totalMs - m0.totalMs : NaN,
    };
  };
}
