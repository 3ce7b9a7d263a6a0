/**
 * The seed of a test file's generated inputs (fast-check), printed so a failure can
 * be replayed: `FC_SEED=<seed> npm test`. Fresh each run unless FC_SEED is set.
 */
export function testSeed(file: string): number {
  const fromEnv: string | undefined = (globalThis as { process?: { env?: Record<string, string> } }).process
    ?.env?.FC_SEED;
  const seed = fromEnv !== undefined ? Number(fromEnv) : Date.now() % 2 ** 31;
  console.log(`${file}: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
  return seed;
}
