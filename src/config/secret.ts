/**
 * Secrets live in files the config names (`auth.tokenFile`, `passwordFile`, TLS
 * `keyFile`), never in the config itself, so `oplog config --print`, logs and status
 * show only paths. readSecret reads one such file when the node starts. Its errors name
 * the field and the path and never include a byte of the file.
 */
import { readFileSync, statSync } from 'node:fs';
import { InvalidConfigError } from './config-error.js';

/** Largest secret file: a token or password is bytes, not kilobytes. */
export const SECRET_BYTES_MAX = 64 * 1024;

export interface ReadSecretOptions {
  /**
   * Refuse a file every user may read (mode o+r). Off by default: Kubernetes mounts
   * secrets 0644 and Docker 0444, where the container, not the mode, is the boundary.
   */
  readonly refuseWorldReadable?: boolean;
}

/**
 * The secret in `path` with surrounding whitespace (a trailing newline) trimmed. Throws
 * InvalidConfigError naming `field` (e.g. `auth.tokenFile`) and the path when the file
 * is missing, unreadable, not a regular file, over {@link SECRET_BYTES_MAX}, empty or
 * (if asked) world-readable.
 */
export function readSecret(path: string, field = 'secret file', options: ReadSecretOptions = {}): string {
  const refuse = (rule: string, cause?: unknown): never => {
    throw new InvalidConfigError([{ field, value: path, rule }], { cause });
  };
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) refuse('must be a regular file holding the secret');
    if (stat.size > SECRET_BYTES_MAX)
      refuse(`is ${stat.size} bytes; a secret file is at most ${SECRET_BYTES_MAX}`);
    if (options.refuseWorldReadable === true && process.platform !== 'win32' && (stat.mode & 0o004) !== 0)
      refuse(`is readable by every user (mode ${(stat.mode & 0o777).toString(8)}); chmod o-r it`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof InvalidConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    return refuse(
      code === 'ENOENT' ? 'secret file does not exist' : `secret file cannot be read (${code ?? 'error'})`,
      error,
    );
  }
  const secret = text.trim();
  if (secret.length === 0) refuse('secret file is empty');
  return secret;
}
