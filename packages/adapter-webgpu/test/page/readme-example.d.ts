// The README's ```js example, as test/vite.config.ts serves it.
declare module 'virtual:readme-example' {
  /** The example's code, as written in the README. */
  export const source: string;
  /** Runs the example with `console` in place of the global one. */
  export function run(console: { log: (...values: unknown[]) => void }): Promise<void>;
}
