import type express from 'express';
import request from 'supertest';
import { csrfOf } from './app.js';

/**
 * One browser's cookies, carried to whichever app instance serves the next
 * request, as a load balancer would spread one user's requests.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: request.Response): request.Response {
    const setCookie = res.headers['set-cookie'] as unknown as string[] | undefined;
    for (const line of setCookie ?? []) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    return res;
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  async get(app: express.Express, path: string): Promise<request.Response> {
    return this.keep(await request(app).get(path).set('Cookie', this.header()));
  }

  async post(app: express.Express, path: string, form: Record<string, string>): Promise<request.Response> {
    return this.keep(await request(app).post(path).type('form').set('Cookie', this.header()).send(form));
  }

  /** GETs `page` on one instance and posts its form to `action` on another. */
  async submit(pageApp: express.Express, page: string, postApp: express.Express, action: string, fields: Record<string, string> = {}) {
    const html = (await this.get(pageApp, page)).text;
    return this.post(postApp, action, { _mfa_csrf: csrfOf(html), ...fields });
  }
}
