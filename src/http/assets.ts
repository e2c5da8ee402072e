import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Request, Response } from 'express';
import { LIBRARY_VIEWS } from '../render.js';

type Asset = (req: Request, res: Response) => void;

/** A file served as it is, cached by the browser, revalidated by its ETag. */
function serve(body: Buffer, type: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
  return (req, res) => {
    res.set('Cache-Control', 'public, max-age=3600');
    res.set('ETag', etag);
    if (req.get('if-none-match') === etag) {
      res.status(304).end();
      return;
    }
    res.type(type).send(body);
  };
}

/** The scripts of the passkey pages: ours (an app may replace it, as any view), and @simplewebauthn/browser's bundle. */
export function webauthnAssets(appViews: string[]): { script: Asset; library: Asset } {
  const ours = [...appViews, LIBRARY_VIEWS].map((dir) => join(dir, 'assets', 'webauthn.js')).find((f) => existsSync(f))!;
  // The package exports no file but its entry: its bundle is found from there.
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const bundle = join(dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js');
  return { script: serve(readFileSync(ours), 'js'), library: serve(readFileSync(bundle), 'js') };
}
