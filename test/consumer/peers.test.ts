import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { describeFailure, isNetworkFailure, ROOT, run } from './support.js';

const { peerDependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> };

// An app that installs today's release of a peer must not get ERESOLVE from
// us. This fails when a peer ships a major that our range does not admit: then
// run the suite on that major and widen the range (or say why not).
describe('the peer ranges', () => {
  it.concurrent.for(Object.keys(peerDependencies))("admit %s's current release", async (name, ctx) => {
    const result = await run('npm', ['view', name, 'version', '--prefer-online'], ROOT);
    if (result.code !== 0 && isNetworkFailure(result) && !process.env.CI) ctx.skip(`the npm registry cannot be reached to look up ${name}`);
    expect(result.code, describeFailure(`npm view ${name} version`, result)).toBe(0);
    const latest = result.stdout.trim();
    expect(semver.satisfies(latest, peerDependencies[name]!), `${name}@${latest} is outside our peer range ${peerDependencies[name]}`).toBe(true);
  });
});
