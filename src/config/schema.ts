/**
 * schemas/config.schema.json, compiled once when this module loads (ajv, draft
 * 2020-12, every error rather than the first), and its errors turned into
 * {@link ConfigProblem}s a person can act on: the field as a dotted path, the value, and
 * the rule in words — a pattern's rule is the description the schema gives it, a number's
 * its bounds, an enum's its choices, an unknown field's the fields allowed there.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import schema from '../../schemas/config.schema.json' with { type: 'json' };
import type { ConfigProblem } from './config-error.js';

/** The schema as data (tests walk it; `oplog config --help` does not print it). */
export const CONFIG_SCHEMA: unknown = schema;

// strictTypes and strictTuples turn the schema's own mistakes into compile errors,
// so a broken schema fails every test at import instead of validating loosely.
const ajv = new Ajv2020({
  allErrors: true,
  discriminator: true,
  verbose: true,
  strictTypes: true,
  strictTuples: true,
});
const validate = ajv.compile(schema);

/** The store kinds the schema's discriminator knows, for the `kind` message. */
const STORE_KINDS = ['file', 'etcd', 'kafka'] as const;

/** Every way `input` breaks the schema, each once; empty when it conforms. */
export function schemaProblems(input: unknown): ConfigProblem[] {
  if (validate(input)) return [];
  const errors = validate.errors ?? [];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const problem = translate(error, errors);
    if (problem === undefined) continue;
    const key = `${problem.field}\0${problem.rule}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

interface SchemaNode {
  readonly description?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly type?: string;
}

function translate(error: ErrorObject, all: readonly ErrorObject[]): ConfigProblem | undefined {
  const path = pointerToField(error.instancePath);
  const node = (error.parentSchema ?? {}) as SchemaNode;
  const params = error.params as Record<string, unknown>;
  const described = node.description === undefined ? '' : ` (${node.description})`;
  const field = (name: string) => joinField(path, name);
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params['additionalProperty']);
      const allowed = Object.keys(node.properties ?? {}).join(', ');
      return {
        field: field(name),
        value: (error.data as Record<string, unknown>)[name],
        rule: `unknown field; ${path === '' ? 'the config' : path} takes ${allowed}`,
      };
    }
    case 'required': {
      // The missing property's own description says what it is; else its parent's
      // (server.tls: both files or neither); the root's is about the whole file.
      const name = String(params['missingProperty']);
      const own = (node.properties?.[name] as SchemaNode | undefined)?.description;
      const about = own ?? (path === '' ? undefined : node.description);
      return {
        field: field(name),
        value: undefined,
        rule: `is required${about === undefined ? '' : ` (${about})`}`,
      };
    }
    case 'dependentRequired':
      return {
        field: field(String(params['missingProperty'])),
        value: undefined,
        rule: `is required when ${String(params['property'])} is set${described}`,
      };
    case 'discriminator': {
      // A missing kind is already reported by `required`.
      if (
        params['error'] === 'tag' &&
        all.some((e) => e.instancePath === error.instancePath && e.keyword === 'required')
      )
        return undefined;
      const value = (error.data as Record<string, unknown> | null)?.['kind'];
      return { field: field('kind'), value, rule: `must be one of ${STORE_KINDS.join(', ')}` };
    }
    case 'enum':
      return {
        field: path,
        value: error.data,
        rule: `must be one of ${(params['allowedValues'] as unknown[]).map(String).join(', ')}`,
      };
    case 'type':
    case 'minimum':
    case 'maximum':
      return { field: path, value: error.data, rule: typeRule(node, String(params['type'] ?? node.type)) };
    case 'minItems':
    case 'maxItems':
      return {
        field: path,
        value: error.data,
        rule: `must have from ${node.minItems ?? 0} to ${node.maxItems ?? 'any number of'} items${described}`,
      };
    case 'uniqueItems':
      return {
        field: path,
        value: error.data,
        rule: `must not repeat an item (items ${Number(params['j']) + 1} and ${Number(params['i']) + 1} are equal)`,
      };
    case 'pattern':
    case 'not':
    case 'minLength':
    case 'maxLength':
      return {
        field: path,
        value: error.data,
        rule: node.description === undefined ? String(error.message) : `must be ${node.description}`,
      };
    default:
      return { field: path, value: error.data, rule: String(error.message) };
  }
}

function typeRule(node: SchemaNode, type: string): string {
  if (type === 'integer' && node.minimum !== undefined && node.maximum !== undefined)
    return `must be an integer in [${node.minimum}, ${node.maximum}]${node.description === undefined ? '' : `: ${node.description}`}`;
  return `must be ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** `/stores/0/hosts/1` → `stores[0].hosts[1]`; the root is `''`. */
export function pointerToField(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(joinField, '');
}

/** Appends one key or array index to a dotted field path. */
export function joinField(path: string, segment: string): string {
  if (/^(0|[1-9][0-9]*)$/.test(segment)) return `${path}[${segment}]`;
  const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment) ? segment : JSON.stringify(segment);
  return path === '' ? name : `${path}.${name}`;
}
