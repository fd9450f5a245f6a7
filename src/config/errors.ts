// Config failures. A user who reads one message must know which file, which JSON path,
// what is wrong and what to do, for every problem at once (fixing one at a time is slow).
// No message ever holds a connection string or password: values are described, not echoed.
import type { z } from 'zod';
import { redact, REDACTED } from '../claims/redact.js';

export type ConfigErrorCode =
  | 'config_invalid'
  | 'config_missing'
  | 'config_exists'
  | 'unknown_component'
  | 'unknown_tracker';

/** One thing wrong in a config file: where (a JSON path such as components[0].id) and what to do. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(
    readonly code: ConfigErrorCode,
    message: string,
    readonly file?: string,
    problems: readonly ConfigProblem[] = [],
  ) {
    // Belt and braces: whatever slipped into a message, credentials do not survive.
    super(redact(message));
    this.problems = problems.map((p) => ({ path: redact(p.path), message: redact(p.message) }));
  }

  toJSON(): { code: ConfigErrorCode; message: string; file?: string; problems: readonly ConfigProblem[] } {
    return { code: this.code, message: this.message, ...(this.file ? { file: this.file } : {}), problems: this.problems };
  }
}

/** A file that failed validation: one line per problem. */
export function invalidConfig(file: string, problems: readonly ConfigProblem[]): ConfigError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const lines = problems.map((p) => `  - ${p.path}: ${p.message}`);
  return new ConfigError('config_invalid', `${file} is invalid (${count}):\n${lines.join('\n')}`, file, problems);
}

// A string that is, or holds, database credentials. Such a value is refused and never echoed.
const DATABASE_URL = /^postgres(ql)?:\/\//i;
const PASSWORD_PARAM = /password\s*=/i;

export function looksLikeSecret(value: string): boolean {
  return DATABASE_URL.test(value) || PASSWORD_PARAM.test(value);
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A key as it may appear in a message: a key that holds a secret is replaced, not shown. */
export function safeKey(key: string): string {
  return looksLikeSecret(key) ? REDACTED : key;
}

/** JSON path in the form people type: automation.workItemClaims.leaseDurationMs, components[0].id. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = safeKey(String(segment));
      out += PLAIN_KEY.test(key) ? `${out ? '.' : ''}${key}` : `[${JSON.stringify(key)}]`;
    }
  }
  return out || '(root)';
}

// ---- reading JSON: a syntax error says where (line, column) without quoting the text,
// because V8's message quotes the source and the source may hold a secret.

/** Parse JSON text; a syntax error becomes a ConfigError with line and column. */
export function parseJsonText(text: string, file: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.trim() === '') {
    throw new ConfigError('config_invalid', `${file} is empty; write a JSON object into it or delete the file and run dev-nexus init`, file);
  }
  try {
    return JSON.parse(body);
  } catch (error) {
    const offset = syntaxErrorOffset(body);
    const { line, column } = lineAndColumn(body, offset);
    const where = offset >= body.length ? 'at the end of the file' : `at line ${line}, column ${column}`;
    const what = describeSyntaxError((error as Error).message);
    throw new ConfigError('config_invalid', `${file} is not valid JSON: ${what} ${where}; fix the JSON syntax there (strict JSON: double quotes, no comments, no trailing commas)`, file, [
      { path: '(root)', message: `${what} ${where}` },
    ]);
  }
}

// V8's description of the error, cut before any quoted source (which may hold a secret)
// and before its own offset-based position; anything unexpected falls back to a generic phrase.
function describeSyntaxError(message: string): string {
  const unexpectedToken = /^Unexpected token '([\s\S])'/.exec(message);
  if (unexpectedToken) return `unexpected character ${JSON.stringify(unexpectedToken[1])}`;
  const cleaned = message.split(/ in JSON| at position|,? "|, \.\.\./)[0] ?? '';
  if (cleaned === '' || cleaned.includes('"') || cleaned.length > 80) return 'syntax error';
  return cleaned.charAt(0).toLowerCase() + cleaned.slice(1);
}

// The first offset where JSON.parse fails for a reason other than running out of input:
// a prefix ending before the error only ever looks incomplete (or complete), a prefix
// that contains it always fails the same way, so the boundary can be found by bisection.
function syntaxErrorOffset(text: string): number {
  const failsBefore = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (error) {
      const message = (error as Error).message;
      if (/Unexpected end of JSON input/.test(message)) return false;
      const position = /at position (\d+)/.exec(message);
      return !position || Number(position[1]) < length;
    }
  };
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (failsBefore(mid + 1)) high = mid;
    else low = mid + 1;
  }
  return low;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

// ---- validating: every zod issue and every secret becomes one ConfigProblem.

export interface ValidateOptions {
  file: string;
  /** What to tell the user about a secret found at this path (the value itself is never shown). */
  secretMessage: (path: readonly PropertyKey[]) => string;
}

/** Validate parsed JSON against a zod schema; on failure report every problem, secrets first. */
export function validateConfig<T>(schema: z.ZodType<T>, data: unknown, options: ValidateOptions): T {
  const secrets = findSecrets(data);
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success && secrets.length === 0) return result.data;
  const problems = secrets.map((path) => ({ path: formatPath(path), message: options.secretMessage(path) }));
  const secretPaths = new Set(problems.map((p) => p.path));
  // An issue at or under a secret's path would only repeat it, and might describe the value.
  const under = (path: string): boolean => [...secretPaths].some((s) => path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`));
  for (const issue of result.success ? [] : result.error.issues) {
    for (const problem of issueProblems(schema, issue)) if (!under(problem.path)) problems.push(problem);
  }
  return fail(options.file, problems);
}

function fail(file: string, problems: ConfigProblem[]): never {
  throw invalidConfig(file, problems);
}

/** Paths of every string value (and key) that holds database credentials, at any depth. */
export function findSecrets(value: unknown, path: PropertyKey[] = []): PropertyKey[][] {
  if (typeof value === 'string') return looksLikeSecret(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => findSecrets(item, [...path, index]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) =>
      looksLikeSecret(key) ? [[...path, key]] : findSecrets(item, [...path, key]),
    );
  }
  return [];
}

function issueProblems(schema: z.ZodType, issue: z.core.$ZodIssue): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(schema, issue.path);
    const hint = allowed ? ` (allowed here: ${allowed.join(', ')})` : '';
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: `unknown key "${safeKey(key)}"; remove it or correct its spelling${hint}`,
    }));
  }
  return [{ path: formatPath(issue.path), message: issueMessage(issue) }];
}

// zod's default wording is terse; the schemas give their own message wherever a check has
// a domain meaning, and these cover the structural rest. Values are described, not quoted.
function issueMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  if (input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) {
    const expected = issue.code === 'invalid_type' ? issue.expected : issue.values.map((v) => JSON.stringify(v)).join(' or ');
    return `is missing; add it (${expected})`;
  }
  if (issue.code === 'invalid_type') {
    if (issue.message.startsWith('Invalid input')) return `must be ${withArticle(issue.expected)}, not ${jsonType(input)}; change the value`;
  }
  if (issue.code === 'invalid_value') {
    const choices = issue.values.map((v) => JSON.stringify(v)).join(', ');
    return issue.values.length === 1 ? `must be ${choices}; set it to ${choices}` : `must be one of ${choices}; use one of those`;
  }
  return issue.message;
}

function withArticle(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return withArticle(typeof value);
}

// The keys an object schema accepts, found by walking the schema along the issue's path.
interface WalkDef {
  type: string;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
}

function unwrap(schema: z.core.$ZodType): WalkDef {
  let def = schema._zod.def as unknown as WalkDef;
  for (let next = def.innerType ?? def.in; next; next = def.innerType ?? def.in) def = next._zod.def as unknown as WalkDef;
  return def;
}

function allowedKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let current: z.core.$ZodType | undefined = schema;
  for (const segment of path) {
    if (!current) return undefined;
    const def = unwrap(current);
    current = typeof segment === 'number' ? def.element : def.shape?.[String(segment)];
  }
  const shape = current ? unwrap(current).shape : undefined;
  return shape ? Object.keys(shape) : undefined;
}
