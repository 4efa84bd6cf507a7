import * as vscode from 'vscode';
import { defaultAdvertisedIp } from './core/address';
import type { DiscoveryMode } from './core/chatTypes';
import { defaultName, nameProblem } from './core/names';

/** The peerchat.* settings as plain values. Restricted ones are already ignored by VS Code in untrusted workspaces. */
export interface PeerChatConfig {
  port: number;
  name: string;
  /** Set when the configured name was refused and the default is used instead. */
  nameProblem?: string;
  host: string;
  advertisedIp: string;
  autoStart: boolean;
  knownPeers: string[];
  inactiveAfterSeconds: number;
  notifications: boolean;
  sendExitOnDisconnect: boolean;
  readReceipts: boolean;
  historyLimit: number;
  /** Restricted: an untrusted workspace cannot turn announcing on. */
  discovery: DiscoveryMode;
}

export const SECTION = 'peerchat';

export function readConfig(): PeerChatConfig {
  const c = vscode.workspace.getConfiguration(SECTION);
  const rawName = (c.get<string>('name') ?? '').trim();
  const problem = rawName ? nameProblem(rawName) : undefined;
  return {
    port: c.get<number>('port') ?? 47100,
    name: rawName && !problem ? rawName : defaultName(),
    nameProblem: problem ? `peerchat.name "${rawName}" is not usable (${problem}); using "${defaultName()}"` : undefined,
    host: (c.get<string>('host') ?? '0.0.0.0').trim() || '0.0.0.0',
    advertisedIp: (c.get<string>('advertisedAddress') ?? '').trim() || defaultAdvertisedIp(),
    autoStart: c.get<boolean>('autoStart') ?? true,
    knownPeers: (c.get<string[]>('knownPeers') ?? []).filter((s) => typeof s === 'string'),
    inactiveAfterSeconds: Math.max(0, c.get<number>('inactiveAfterSeconds') ?? 300),
    notifications: c.get<boolean>('notifications') ?? true,
    sendExitOnDisconnect: c.get<boolean>('sendExitOnDisconnect') ?? true,
    readReceipts: c.get<boolean>('readReceipts') ?? true,
    historyLimit: Math.min(200_000, Math.max(100, c.get<number>('historyLimit') ?? 10_000)),
    discovery: discoveryMode(c.get<string>('discovery')),
  };
}

function discoveryMode(v: string | undefined): DiscoveryMode {
  return v === 'machine' || v === 'off' ? v : 'lan';
}
