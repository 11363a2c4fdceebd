/**
 * Parsing of the CLI's flag values, one rule per kind, each failure an
 * InvalidInputError naming the flag, the value and the rule (exit 2 in every
 * subcommand alike). Numbers are decimal integers only — no sign, no fraction, no
 * exponent, no hex, no leading zeros — each within a documented [min, max]; seqs are
 * u64 bigints; times are ISO 8601 with a zone, or ms since the Unix epoch; addresses
 * are HOST:PORT lists. Nothing here touches the disk or the network, so a command can
 * check every flag before it creates anything.
 */
import { Option } from 'commander';
import { validateClusterId } from '../core/cluster-id.js';
import { assert, InvalidInputError } from '../core/errors.js';

/** Largest u64: seq flags are bounded by the wire format. */
export const SEQ_MAX = 2n ** 64n - 1n;
/** Most HOST:PORT endpoints in one flag. */
export const ENDPOINTS_MAX = 16;
/** Latest time `--to-time` accepts, ms: JavaScript's own limit (year 275760). */
export const TIME_MS_MAX = 8.64e15;

const DECIMAL = /^(0|[1-9][0-9]*)$/;
/** A DNS name (labels of letters, digits and inner hyphens) or a dotted IPv4 address. */
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6_BRACKETED = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
/** 2026-01-31T12:00:00Z, with optional seconds and fraction, and Z or ±hh:mm. */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/;

function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** A decimal integer in [min, max], as a bigint (the one parser both kinds share). */
function decimal(flag: string, text: string, min: bigint, max: bigint, what: string): bigint {
  const rule = `must be ${what} in [${min}, ${max}] (decimal digits only)`;
  // The length bound keeps BigInt() off megabyte-long arguments.
  if (text.length > 40 || !DECIMAL.test(text))
    throw new InvalidInputError(flag, `${rule}, got ${quoted(text)}`);
  const value = BigInt(text);
  if (value < min || value > max) throw new InvalidInputError(flag, `${rule}, got ${text}`);
  return value;
}

/** A count or size flag: a decimal integer in [min, max], both safe integers. */
export function parseInteger(flag: string, text: string, min: number, max: number): number {
  return Number(decimal(flag, text, BigInt(min), BigInt(max), 'an integer'));
}

/** A seq flag: a decimal u64 in [min, max]. */
export function parseSeq(flag: string, text: string, min = 1n, max = SEQ_MAX): bigint {
  return decimal(flag, text, min, max, 'a seq');
}

/**
 * A time: ISO 8601 with a zone (`2026-01-31T12:00:00Z`, `…+02:00`) or milliseconds since
 * the Unix epoch. A time without a zone would depend on the machine's, so it is refused,
 * as is a date that does not exist (`2026-02-30`).
 */
export function parseTime(flag: string, text: string): number {
  const rule = 'must be an ISO 8601 time with a zone (2026-01-31T12:00:00Z) or ms since the Unix epoch';
  if (DECIMAL.test(text)) {
    if (text.length <= 16 && Number(text) <= TIME_MS_MAX) return Number(text);
    throw new InvalidInputError(flag, `${rule}, at most ${TIME_MS_MAX}, got ${quoted(text)}`);
  }
  const match = ISO_TIME.exec(text);
  const ms = match === null ? Number.NaN : Date.parse(text);
  if (match === null || !Number.isFinite(ms) || ms < 0)
    throw new InvalidInputError(flag, `${rule}, got ${quoted(text)}`);
  // Date.parse rolls 2026-02-30 over to March; a real date reads back the same.
  const [, year, month, day, hour, minute, second = '00'] = match;
  const zoneMs = zoneOffsetMs(match[8]!);
  const local = new Date(ms + zoneMs);
  const same =
    local.getUTCFullYear() === Number(year) &&
    local.getUTCMonth() + 1 === Number(month) &&
    local.getUTCDate() === Number(day) &&
    local.getUTCHours() === Number(hour) &&
    local.getUTCMinutes() === Number(minute) &&
    local.getUTCSeconds() === Number(second);
  if (!same) throw new InvalidInputError(flag, `${rule}; ${quoted(text)} is not a real date and time`);
  return ms;
}

function zoneOffsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
}

/**
 * A comma-separated list of HOST:PORT (a DNS name, an IPv4 address or a bracketed IPv6
 * address; a port in [1, 65535]); at most {@link ENDPOINTS_MAX}, each once.
 */
export function parseEndpoints(flag: string, text: string): string[] {
  const parts = text.split(',');
  if (parts.length > ENDPOINTS_MAX)
    throw new InvalidInputError(flag, `at most ${ENDPOINTS_MAX} HOST:PORT endpoints, got ${parts.length}`);
  const endpoints = parts.map((part) => parseEndpoint(flag, part));
  const repeated = endpoints.find((e, i) => endpoints.indexOf(e) !== i);
  if (repeated !== undefined) throw new InvalidInputError(flag, `${repeated} is given twice`);
  return endpoints;
}

function parseEndpoint(flag: string, text: string): string {
  const rule = 'must be HOST:PORT (a host name, IPv4 or [IPv6] address, and a port in [1, 65535])';
  const colon = text.lastIndexOf(':');
  if (colon < 1) throw new InvalidInputError(flag, `${rule}, got ${quoted(text)}`);
  const host = text.slice(0, colon);
  const port = text.slice(colon + 1);
  if (!validHost(host)) throw new InvalidInputError(flag, `${rule}; bad host in ${quoted(text)}`);
  if (port.length > 5 || !DECIMAL.test(port) || Number(port) < 1 || Number(port) > 65_535)
    throw new InvalidInputError(flag, `${rule}; bad port in ${quoted(text)}`);
  return `${host}:${port}`;
}

function validHost(host: string): boolean {
  const ipv4 = IPV4.exec(host);
  if (ipv4 !== null) return ipv4.slice(1).every((octet) => Number(octet) <= 255);
  // All digits and dots but not four octets (`1.2.3`) is no name either.
  if (/^[\d.]+$/.test(host)) return false;
  return HOSTNAME.test(host) || IPV6_BRACKETED.test(host);
}

/** One of a closed set of words. */
export function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new InvalidInputError(flag, `must be one of ${choices.join(', ')}, got ${quoted(text)}`);
}

/** A path: not empty (an empty one would silently mean the working directory). */
export function parsePath(flag: string, text: string): string {
  if (text.length === 0 || text.includes('\0')) throw new InvalidInputError(flag, 'must be a non-empty path');
  return text;
}

// Commander options carrying these rules, with the bound in the help text.

/** `--flag <name>` taking a decimal integer in [min, max]. */
export function integerOption(
  flags: string,
  description: string,
  bound: { min: number; max: number; default?: number },
): Option {
  const option = new Option(flags, `${description}; an integer in [${bound.min}, ${bound.max}]`).argParser(
    (text: string) => parseInteger(longName(flags), text, bound.min, bound.max),
  );
  return bound.default === undefined ? option : option.default(bound.default);
}

/** `--flag <seq>` taking a decimal u64 seq in [min, SEQ_MAX]. */
export function seqOption(
  flags: string,
  description: string,
  bound: { min: bigint; default?: bigint },
): Option {
  const option = new Option(flags, `${description}; a seq in [${bound.min}, 2^64 - 1]`).argParser(
    (text: string) => parseSeq(longName(flags), text, bound.min),
  );
  return bound.default === undefined ? option : option.default(bound.default, String(bound.default));
}

export function timeOption(flags: string, description: string): Option {
  return new Option(
    flags,
    `${description}; ISO 8601 with a zone (2026-01-31T12:00:00Z) or ms since the Unix epoch`,
  ).argParser((text: string) => parseTime(longName(flags), text));
}

export function endpointsOption(flags: string, description: string): Option {
  return new Option(flags, `${description}; HOST:PORT[,HOST:PORT…], at most ${ENDPOINTS_MAX}`).argParser(
    (text: string) => parseEndpoints(longName(flags), text),
  );
}

export function choiceOption<T extends string>(
  flags: string,
  description: string,
  choices: readonly T[],
  fallback?: T,
): Option {
  const option = new Option(flags, `${description}: ${choices.join(' | ')}`).argParser((text: string) =>
    parseChoice(longName(flags), text, choices),
  );
  return fallback === undefined ? option : option.default(fallback);
}

export function pathOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser((text: string) => parsePath(longName(flags), text));
}

/** A cluster id (or an etcd/topic prefix, same rules): InvalidClusterIdError when unsafe. */
export function clusterIdOption(flags: string, description: string, fallback?: string): Option {
  const option = new Option(flags, `${description}; [A-Za-z0-9][A-Za-z0-9_.-]{0,127}, no ".."`).argParser(
    (text: string) => validateClusterId(text),
  );
  return fallback === undefined ? option : option.default(fallback);
}

/** `--to-seq <seq>` → `--to-seq`. */
function longName(flags: string): string {
  const long = /--[a-z0-9-]+/.exec(flags)?.[0];
  assert(long !== undefined, `option ${flags} has no long name`);
  return long;
}
