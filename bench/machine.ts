import { cpus, totalmem } from 'node:os';

export interface Machine {
  cpuModel: string;
  cpuCount: number;
  memoryBytes: number;
  node: string;
  postgres: string;
}

export function describeMachine(postgresVersion: string): Machine {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    memoryBytes: totalmem(),
    node: process.version,
    postgres: postgresVersion,
  };
}
