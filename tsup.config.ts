import { defineConfig } from 'tsup';

// One source, two formats beside each other in dist/: index.js + index.d.ts
// for import, index.cjs + index.d.cts for require. Each format is one bundle,
// so each has one copy of every module and its error classes. dist/ sits one
// folder below the package root, as src/ does, so render.ts finds views/ from
// either; in the CommonJS bundle `shims` turns import.meta.url into the
// file's own URL.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  platform: 'node',
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  dts: true,
  shims: true,
  sourcemap: true,
  splitting: false,
  clean: true,
});
