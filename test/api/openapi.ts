/**
 * The contract check of the JSON API: every response an API test gets goes
 * through `call()`, which validates it against the OpenAPI 3.1 document the
 * library itself serves at /mfa/api/openapi.json. A status the document does
 * not list for (path, method), or a body that does not match the schema it
 * lists, fails the test. Coverage of (path, method, status) is collected so
 * that a test can assert that every documented operation was exercised.
 */
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { expect } from 'vitest';
import type { Agent } from '../helpers/app.js';

export const BASE = '/mfa/api';
export const DOCUMENT_PATH = `${BASE}/openapi.json`;
export const USER_AGENT = 'express-mfa-api-tests/1.0';

export type Method = 'get' | 'post' | 'patch' | 'delete';

// ajv and ajv-formats are CommonJS with a `default` export; take whichever the loader hands over.
type AjvClass = typeof import('ajv/dist/2020.js').default;
const Ajv2020 = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;
type AddFormats = typeof import('ajv-formats').default;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ?? addFormatsModule) as AddFormats;

/** The parts of a supertest response the API tests read. */
export interface ApiResponse {
  status: number;
  body: any;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
}

interface ResponseObject {
  description?: string;
  content?: Record<string, { schema?: unknown }>;
}

const METHODS: readonly Method[] = ['get', 'post', 'patch', 'delete'];

class Contract {
  private readonly ajv: InstanceType<AjvClass>;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema(document as object, 'openapi');
  }

  operation(template: string, method: Method): { responses: Record<string, ResponseObject> } | undefined {
    return this.document.paths[template]?.[method] as { responses: Record<string, ResponseObject> } | undefined;
  }

  /** A validator for a JSON pointer into the document. */
  validator(pointer: string): ValidateFunction {
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi#${pointer}` });
      this.validators.set(pointer, validate);
    }
    return validate;
  }

  check(label: string, pointer: string, body: unknown): void {
    const validate = this.validator(pointer);
    if (!validate(body)) {
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`);
      expect.fail(`${label}: the body does not match the OpenAPI schema at ${pointer}:\n  ${errors.join('\n  ')}\nbody: ${JSON.stringify(body)}`);
    }
  }
}

/** JSON-pointer escaping of one reference token. */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

let contract: Promise<Contract> | undefined;

/** (path template, method, status) triples seen in this test file. */
const seen = new Set<string>();

/** Loads the document the app serves (once per test file). */
export function loadContract(a: Agent): Promise<Contract> {
  contract ??= (async () => {
    const res = await a.get(DOCUMENT_PATH);
    expect(res.status, 'GET openapi.json').toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
    const doc = res.body as OpenApiDocument;
    expect(doc.openapi).toBe('3.1.0');
    return new Contract(doc);
  })();
  return contract;
}

export async function openApiDocument(a: Agent): Promise<OpenApiDocument> {
  return (await loadContract(a)).document;
}

/** Checks a response against the document's entry for (template, method, status). */
export async function validateResponse(a: Agent, method: Method, template: string, res: ApiResponse): Promise<void> {
  const c = await loadContract(a);
  const label = `${method.toUpperCase()} ${template} → ${res.status}`;
  const op = c.operation(template, method);
  expect(op, `${method.toUpperCase()} ${template} is not in the OpenAPI document`).toBeDefined();
  const documented = op!.responses[String(res.status)];
  expect(
    documented,
    `${label} is not documented (documented: ${Object.keys(op!.responses).join(', ')}); body: ${res.text}`,
  ).toBeDefined();

  const schema = documented!.content?.['application/json']?.schema;
  if (res.status === 204 || schema === undefined) {
    expect(res.status, `${label}: a response without a schema must be 204`).toBe(204);
    expect(res.text ?? '', `${label}: a 204 must have an empty body`).toBe('');
  } else {
    expect(String(res.headers['content-type'] ?? ''), `${label}: content type`).toMatch(/^application\/json/);
    const pointer = ['', 'paths', template, method, 'responses', String(res.status), 'content', 'application/json', 'schema']
      .map(escapePointer)
      .join('/');
    c.check(label, pointer, res.body);
  }
  seen.add(`${method} ${template} ${res.status}`);
}

/** Checks a request body against the document's requestBody schema of (template, method). */
export async function validateRequest(a: Agent, method: Method, template: string, body: unknown): Promise<void> {
  const c = await loadContract(a);
  const op = c.operation(template, method) as { requestBody?: { required?: boolean; content?: Record<string, unknown> } } | undefined;
  expect(op, `${method.toUpperCase()} ${template} is not in the OpenAPI document`).toBeDefined();
  if (body === undefined) {
    expect(op!.requestBody?.required ?? false, `${method.toUpperCase()} ${template}: the document requires a body`).toBe(false);
    return;
  }
  expect(op!.requestBody?.content?.['application/json'], `${method.toUpperCase()} ${template}: the document lists no JSON body`).toBeDefined();
  const pointer = ['', 'paths', template, method, 'requestBody', 'content', 'application/json', 'schema'].map(escapePointer).join('/');
  c.check(`request of ${method.toUpperCase()} ${template}`, pointer, body);
}

/** Checks an error body of a URL that is not in the document (an unknown endpoint) against the Error schema. */
export async function validateError(a: Agent, res: ApiResponse): Promise<void> {
  const c = await loadContract(a);
  expect(String(res.headers['content-type'] ?? '')).toMatch(/^application\/json/);
  c.check(`error ${res.status}`, '/components/schemas/Error', res.body);
}

export interface CallOptions {
  /** Extra request headers (Origin, Sec-Fetch-Site, X-Forwarded-For…). */
  headers?: Record<string, string>;
  /** Sends the body as it is with this Content-Type instead of JSON (a form post, text, broken JSON). */
  raw?: { type: string; text: string };
}

/** The URL of a template such as '/devices/{id}', with its parameters filled in. */
export function urlOf(template: string, params: Record<string, string> = {}): string {
  const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${template}`);
    return encodeURIComponent(value);
  });
  return `${BASE}${path}`;
}

/**
 * One API request, checked against the OpenAPI document: `template` is the
 * document's path ('/devices/{id}'), `params` fills it in, `body` is sent as
 * JSON (writes without a body send none).
 */
export async function call(
  a: Agent,
  method: Method,
  template: string,
  params: Record<string, string> = {},
  body?: unknown,
  options: CallOptions = {},
): Promise<ApiResponse> {
  await loadContract(a);
  let req = a[method](urlOf(template, params)).set('User-Agent', USER_AGENT).set('Accept', 'application/json');
  for (const [name, value] of Object.entries(options.headers ?? {})) req = req.set(name, value);
  if (options.raw) req = req.set('Content-Type', options.raw.type).send(options.raw.text);
  else if (body !== undefined) req = req.send(body as object);
  else if (method === 'post' || method === 'patch') req = req.set('Content-Type', 'application/json');
  const res = (await req) as unknown as ApiResponse;
  await validateResponse(a, method, template, res);
  return res;
}

/** A request to a URL that is not a documented path; its (error) body is checked against the Error schema. */
export async function callUndocumented(a: Agent, method: Method, path: string, body?: object): Promise<ApiResponse> {
  await loadContract(a);
  let req = a[method](`${BASE}${path}`).set('User-Agent', USER_AGENT).set('Accept', 'application/json');
  if (body !== undefined) req = req.send(body);
  const res = (await req) as unknown as ApiResponse;
  await validateError(a, res);
  return res;
}

/** Asserts an error response: status, stable code, and the body's details (when given, exactly). */
export function expectError(res: ApiResponse, status: number, code: string, details?: Record<string, unknown>): void {
  expect({ status: res.status, code: res.body?.code }, `body: ${res.text}`).toEqual({ status, code });
  expect(typeof res.body.message).toBe('string');
  if (details !== undefined) expect(res.body.details ?? {}).toEqual(details);
}

/** Documented (path, method) pairs whose every 2xx status was not seen yet in this file. */
export async function uncoveredOperations(a: Agent): Promise<string[]> {
  const c = await loadContract(a);
  const missing: string[] = [];
  for (const [template, item] of Object.entries(c.document.paths)) {
    for (const method of METHODS) {
      const op = item[method] as { responses: Record<string, unknown> } | undefined;
      if (!op) continue;
      for (const status of Object.keys(op.responses).filter((s) => s.startsWith('2'))) {
        if (!seen.has(`${method} ${template} ${status}`)) missing.push(`${method.toUpperCase()} ${template} ${status}`);
      }
    }
  }
  return missing;
}

/** Every (path, method, status) seen so far in this file. */
export function seenResponses(): string[] {
  return [...seen].sort();
}
