import { MemoryMfaStore } from '../../src/stores/memory.js';
import { storeConformance } from './conformance.js';

storeConformance('memory', async () => {
  const store = new MemoryMfaStore();
  return { store, cleanup: async () => store.close() };
});
