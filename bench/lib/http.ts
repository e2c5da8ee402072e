import http from 'node:http';

/** Cookies of one browser, as a user agent keeps them (no path or domain rules: one loopback origin). */
export class Jar {
  private readonly cookies = new Map<string, string>();

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  store(setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v] = a.split('=').map((s) => s.trim().toLowerCase());
        return (k === 'max-age' && Number(v) <= 0) || (k === 'expires' && Date.parse(v ?? '') < Date.now());
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  clear(): void {
    this.cookies.clear();
  }
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  jar?: Jar;
  form?: Record<string, string>;
  json?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A keep-alive HTTP client to one loopback server; no redirects are followed. */
export class Client {
  private readonly agent: http.Agent;

  constructor(readonly port: number, maxSockets = 256) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const cookie = options.jar?.header();
    if (cookie) headers.cookie = cookie;
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent, timeout: options.timeoutMs ?? 10_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            options.jar?.store(res.headers['set-cookie']);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The CSRF token of a page's forms. */
export function csrfOf(html: string): string {
  const match = /name="_mfa_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no CSRF token in page: ${html.slice(0, 300)}`);
  return match[1]!;
}
