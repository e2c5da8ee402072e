import { afterAll, beforeAll, describe } from 'vitest';
import { PostgresMfaStore } from '../../src/stores/postgres.js';
import { connectPostgres, createSchema, dropSchema } from '../helpers/postgres.js';
import { storeConformance } from './conformance.js';

const pool = await connectPostgres();

describe.skipIf(!pool)('postgres', () => {
  let schema: string;
  beforeAll(async () => {
    schema = await createSchema(pool!, 'conformance');
    await new PostgresMfaStore({ pool: pool!, schema }).migrate();
  });
  afterAll(async () => {
    await dropSchema(pool!, schema);
    await pool!.end();
  });

  // Every case has users of its own: one set of tables serves them all.
  storeConformance('postgres', async () => ({ store: new PostgresMfaStore({ pool: pool!, schema }), cleanup: async () => {} }));
});
