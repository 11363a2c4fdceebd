/**
 * Network addresses in the config, as regular expressions shared by the JSON Schema
 * and the store URL parser (test/config/schema.test.ts keeps the schema's patterns
 * equal to these strings): a host is a DNS name (labels of letters, digits and inner
 * hyphens, at most 253 characters, not all digits and dots), a dotted IPv4 address
 * with octets in [0, 255] and no leading zeros, or a bracketed IPv6 address.
 */

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** Where a host ends: at a port, a path, or the end of the text. */
const HOST_END = '(?:[:/]|$)';

/** A host, unanchored. */
export const HOST_SOURCE =
  `(?:\\[[0-9A-Fa-f:.]{2,45}\\]` +
  `|${OCTET}(?:\\.${OCTET}){3}(?=${HOST_END})` +
  `|(?![0-9.]+${HOST_END})(?=[^:/]{1,253}${HOST_END})${LABEL}(?:\\.${LABEL})*)`;

/** A TCP port a client connects to: [1, 65535], decimal, no leading zeros. */
export const PORT_SOURCE =
  '(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';

/** `HOST:PORT` of a server (etcd member, Kafka broker), port in [1, 65535]. */
export const ENDPOINT_PATTERN = `^${HOST_SOURCE}:${PORT_SOURCE}$`;
/** `HOST:PORT` of a listener; port 0 asks the system for a free port. */
export const LISTEN_PATTERN = `^${HOST_SOURCE}:(?:0|${PORT_SOURCE})$`;
/** An `http://` or `https://` base URL: a host, an optional port, an optional `/`. */
export const HTTP_URL_PATTERN = `^https?://${HOST_SOURCE}(?::${PORT_SOURCE})?/?$`;

const ENDPOINT = new RegExp(ENDPOINT_PATTERN);
const HOST = new RegExp(`^${HOST_SOURCE}$`);

/** True when `text` is `HOST:PORT` with a port in [1, 65535]. */
export function isEndpoint(text: string): boolean {
  return ENDPOINT.test(text);
}

/** True when `text` is a host alone (no port). */
export function isHost(text: string): boolean {
  return HOST.test(text);
}
