import type { TfjsRuntime } from './runtime.js';

/**
 * Keeps TF.js's "Hi, looks like you are running TensorFlow.js in Node.js. To speed things up
 * dramatically, install our node backend" banner off the console, without changing anything
 * else for the rest of the process.
 *
 * TF.js's CPU backend prints that banner (through `console.warn`) on its first tensor write,
 * unless the environment flag `PROD` (set by `tf.enableProdMode()`) or `IS_TEST` is true.
 * This makes that first write, a scalar disposed at once, with `PROD` set and then restores
 * the flag's previous value, so the banner is consumed and prod mode stays as the caller had
 * it. Call it after the CPU backend is active (`await tf.setBackend('cpu')`); on other
 * backends, or once the CPU backend has already written a tensor, it does nothing visible.
 * `createTfjsBackend` calls it unless `quiet: false`.
 */
export function quietTfjsBanner(tf: TfjsRuntime): void {
  const env = tf.env();
  const previous = env.getBool('PROD');
  env.set('PROD', true);
  try {
    tf.scalar(0).dispose();
  } finally {
    env.set('PROD', previous);
  }
}
