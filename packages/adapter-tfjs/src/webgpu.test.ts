import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createTfjsBackend } from './tfjs-backend.js';

// Node has no WebGPU: the webgpu backend itself runs in browser/'s chromium test (the full
// conformance suite, and maxTableBytes equal to the device's binding limit). Here: the peer
// is loaded on demand, and a TF.js without a usable webgpu backend is a typed error.
/** Whether TF.js knows the flag (`env().get` throws for a flag nobody registered). */
function registered(flag: string): boolean {
  try {
    tf.env().get(flag);
    return true;
  } catch {
    return false;
  }
}

describe("createTfjsBackend({ backend: 'webgpu' }) without WebGPU", () => {
  it('imports @tensorflow/tfjs-backend-webgpu by itself, then rejects with INVALID_CONFIG naming the registered backends', async () => {
    // The package registers its flags with TF.js when imported (and its backend only where navigator.gpu exists).
    expect(registered('WEBGPU_CPU_FORWARD')).toBe(false);
    const error = await createTfjsBackend({ backend: 'webgpu', runtime: tf }).catch((e: unknown) => e);
    expect(registered('WEBGPU_CPU_FORWARD')).toBe(true);
    expect(tf.findBackendFactory('webgpu')).toBeNull();
    expect(error).toMatchObject({ name: 'InvalidConfigError', code: 'INVALID_CONFIG' });
    expect((error as Error).message).toMatch(/no backend named "webgpu"; registered: .*cpu/);
  });
});
