/** Classic sending: one connection, one write, half-close, read any reply briefly. */
import { describeSocketError } from '../../errors';
import { Connection, Transport } from '../../transport';

export interface SendResult {
  ok: boolean;
  /** Why it failed, in plain words with the address. */
  error?: string;
  /** Whatever the receiver wrote back before closing (acknowledging senders), if anything. */
  reply?: string;
}

export interface SendOptions {
  timeoutMs: number;
  /** How long to wait for a reply after the write before closing our side. */
  replyWaitMs: number;
  retries: number;
  retryBaseMs: number;
}

/** One connection, one write, half-close, read any reply briefly. Never throws. */
export function sendOnce(
  transport: Transport,
  host: string,
  port: number,
  payload: Buffer,
  opt: SendOptions,
  connected?: Connection,
): Promise<SendResult & { retryable?: boolean }> {
  return new Promise((resolve) => {
    let written = false;
    let settled = false;
    let reply = '';
    let replyTimer: NodeJS.Timeout | undefined;
    const socket = connected ?? transport.connect(host, port);
    const settle = (r: SendResult & { retryable?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(replyTimer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => {
      settle(written ? { ok: true } : { ok: false, error: `sending to ${host}:${port} timed out after ${opt.timeoutMs} ms` });
    }, opt.timeoutMs);
    socket.setNoDelay(true);
    const write = () =>
      socket.end(payload, () => {
        written = true;
        replyTimer = setTimeout(() => settle({ ok: true, reply: reply || undefined }), opt.replyWaitMs);
      });
    if (connected) write();
    else socket.on('connect', write);
    socket.on('data', (d: Buffer) => {
      if (reply.length < 4096) reply += d.toString('utf8');
    });
    socket.on('close', () => {
      if (written) settle({ ok: true, reply: reply || undefined });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (written) {
        settle({ ok: true, reply: reply || undefined });
        return;
      }
      settle({
        ok: false,
        error: `could not send to ${host}:${port}: ${describeSocketError(err)}`,
        retryable: err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET',
      });
    });
  });
}

/** sendOnce with retries on refused/reset connections: classroom listeners use listen(5). */
export async function sendWithRetry(transport: Transport, host: string, port: number, payload: Buffer, opt: SendOptions & { signal?: AbortSignal }): Promise<SendResult> {
  let last: SendResult & { retryable?: boolean } = { ok: false, error: 'not sent' };
  for (let attempt = 0; attempt <= opt.retries; attempt++) {
    if (attempt > 0) {
      if (opt.signal?.aborted) return { ok: false, error: `${last.error ?? 'not sent'} (the node stopped)` };
      // The wait ends at once when the node stops, and then no new connection is made.
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, opt.retryBaseMs * 2 ** (attempt - 1));
        function done() {
          clearTimeout(t);
          opt.signal?.removeEventListener('abort', done);
          resolve();
        }
        opt.signal?.addEventListener('abort', done, { once: true });
      });
      if (opt.signal?.aborted) return { ok: false, error: `${last.error ?? 'not sent'} (the node stopped)` };
    }
    last = await sendOnce(transport, host, port, payload, opt);
    if (last.ok || !last.retryable) break;
  }
  return { ok: last.ok, error: last.error, reply: last.reply };
}
