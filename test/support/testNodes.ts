// Real nodes on 127.0.0.1 for the tests that drive PeerNode directly: short redial delays, their
// log lines kept, all stopped at the end.
import { NodeOptions, PeerNode } from '../../src/core/node';

const HOST = '127.0.0.1';

export class TestNodes {
  private readonly live = new Set<PeerNode>();
  private readonly logs = new Map<PeerNode, string[]>();

  /** A started node named `name` on a free port of 127.0.0.1. */
  async start(name: string, o: Partial<NodeOptions> = {}): Promise<PeerNode> {
    const n = new PeerNode({ host: HOST, port: 0, name, advertisedIp: HOST, ...o, limits: { probeWaitMs: 300, reconnectBaseMs: 50, reconnectMaxMs: 300, ...o.limits } });
    const lines: string[] = [];
    this.logs.set(n, lines);
    n.on('log', (_level, text) => lines.push(text));
    this.live.add(n);
    await n.start();
    return n;
  }

  async stop(...ns: PeerNode[]): Promise<void> {
    await Promise.all(ns.map((n) => n.stop()));
    for (const n of ns) this.live.delete(n);
  }

  async stopAll(): Promise<void> {
    await this.stop(...this.live);
  }

  /** Every line `n` logged so far. */
  logOf(n: PeerNode): string[] {
    return this.logs.get(n) ?? [];
  }
}
