/** A node child process (test/roles/node-child.ts) driven over JSON lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type Message = Record<string, unknown>;

export class Node {
  readonly acked: [string, string, string][] = [];
  private readonly waiting: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  readonly child: ChildProcess;

  constructor(script: string, args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as Message;
      if (Array.isArray(message['acked']))
        this.acked.push(...(message['acked'] as [string, string, string][]));
      const i = this.waiting.findIndex((w) => w.match(message));
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(message);
    });
  }

  next(key: string, timeoutMs = 60_000): Promise<Message> {
    return this.nextOf([key], timeoutMs);
  }

  /** The next message carrying any of `keys`. */
  nextOf(keys: readonly string[], timeoutMs = 60_000): Promise<Message> {
    const key = keys.join(' or ');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${key} from child within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push({
        match: (m) => keys.some((k) => k in m),
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  async ask(command: string, key: string): Promise<Message> {
    const answer = this.next(key);
    this.child.stdin!.write(`${command}\n`);
    return answer;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

export async function waitFor(
  predicate: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
