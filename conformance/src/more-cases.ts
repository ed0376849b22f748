// Conformance cases that are not driven by a fixture file: the contract's own rules (buffers,
// lifecycle, the manifest, limits, row ranges, export, bounded error messages).
import { type BackendCapabilitiesV2, Embedding } from '@embedding-layer/core';
import { CAPABILITY_KEYS, toIndexTensor } from '@embedding-layer/core/backend';
import { check, checkFloats } from './failure.js';
import { expectError } from './layer.js';
import { referenceLookup } from './reference.js';
import { checkWithin, isExact, rowMaxes, storageBound, toleranceOf } from './tolerance.js';
import type { CaseContext, ConformanceCase } from './types.js';

async function layerFor(context: CaseContext, config = { inputDim: 4, outputDim: 2, seed: 1 }): Promise<Embedding> {
  return Embedding.create(config, { backend: await context.createBackend() });
}

/** Rows of very different magnitudes (1e-4 ... 1e4, both signs, a zero row), deterministic. */
function spreadTable(rows: number, d: number): Float32Array {
  const w = new Float32Array(rows * d);
  for (let r = 1; r < rows; r++) {
    const scale = 10 ** (((r * 7) % 9) - 4);
    for (let c = 0; c < d; c++) w[r * d + c] = scale * Math.sin(r * 12.9898 + c * 78.233) * (c % 3 === 0 ? -1 : 1);
  }
  return w;
}

const outWrongLength: ConformanceCase = {
  id: 'lookup/out-wrong-length',
  group: 'lookup',
  title: 'predict(x, { out }) with a buffer of the wrong length is a SHAPE_MISMATCH and writes nothing',
  async run(context) {
    const layer = await layerFor(context);
    try {
      const out = new Float32Array(5).fill(7);
      await expectError(() => layer.predict([0, 1, 3], { out }), 'SHAPE_MISMATCH');
      checkFloats('the rejected buffer', out, new Float32Array(5).fill(7));
      await expectError(() => layer.predict([0], { out: new Float64Array(2) as unknown as Float32Array }), 'SHAPE_MISMATCH');
    } finally {
      await layer.dispose();
    }
  },
};

const outOverlapsIndices: ConformanceCase = {
  id: 'lookup/out-overlaps-indices',
  group: 'lookup',
  title: 'predict(x, { out }) whose buffer shares memory with the indices is a SHAPE_MISMATCH and changes nothing',
  async run(context) {
    const layer = await layerFor(context, { inputDim: 4, outputDim: 1, seed: 1 });
    try {
      const buffer = new ArrayBuffer(32);
      const ids = new Int32Array(buffer, 0, 4).fill(3);
      const out = new Float32Array(buffer, 8, 4); // overlaps ids[2..3]
      await expectError(() => layer.predict(ids, { out }), 'SHAPE_MISMATCH');
      check(
        Array.from(ids).every((v) => v === 3),
        'the indices changed although the call was refused.',
      );
      // A separate buffer works.
      const fresh = new Float32Array(4);
      await layer.predict(ids, { out: fresh });
    } finally {
      await layer.dispose();
    }
  },
};

const dispose: ConformanceCase = {
  id: 'lifecycle/dispose',
  group: 'lifecycle',
  title: 'After dispose(), predict, getWeights, setWeights and readRows reject with LAYER_DISPOSED; a second dispose is a no-op',
  async run(context) {
    const layer = await layerFor(context);
    await layer.dispose();
    await expectError(() => layer.predict([0]), 'LAYER_DISPOSED');
    await expectError(() => layer.getWeights(), 'LAYER_DISPOSED');
    await expectError(() => layer.setWeights([new Float32Array(8)]), 'LAYER_DISPOSED');
    await expectError(() => layer.readRows(0, 1), 'LAYER_DISPOSED');
    await layer.dispose();
  },
};

const disposeWaits: ConformanceCase = {
  id: 'lifecycle/dispose-waits-for-calls',
  group: 'lifecycle',
  title: 'dispose() while lookups run: they finish with the right rows, then the layer is disposed',
  async run(context) {
    const layer = await layerFor(context, { inputDim: 50, outputDim: 8, seed: 5 });
    const table = (await layer.getWeights())[0]!;
    const ids = { data: Int32Array.from({ length: 200 }, (_, i) => (i * 7) % 50), shape: [200] };
    const running = [layer.predict(ids), layer.predict(ids)];
    const disposed = layer.dispose();
    for (const result of await Promise.all(running)) {
      checkFloats('a lookup that was running at dispose()', result.data, referenceLookup(table, toIndexTensor(ids, 50), 8));
    }
    await disposed;
    await expectError(() => layer.predict([0]), 'LAYER_DISPOSED');
  },
};

const disposeDuringFit: ConformanceCase = {
  id: 'lifecycle/dispose-during-fit',
  group: 'lifecycle',
  title: 'dispose() from a fit callback stops fit with LAYER_DISPOSED at the next batch',
  requires: 'training',
  skip: (s) => (s.training ? null : 'needs supports.training (fit rejects with UNSUPPORTED_FEATURE, checked by the training group)'),
  async run(context) {
    const layer = await layerFor(context, { inputDim: 10, outputDim: 3, seed: 2 });
    layer.compile('sgd', 'mse');
    const x = Array.from({ length: 8 }, (_, i) => [i % 10]);
    const y = new Float32Array(8 * 3).fill(0.5);
    let batches = 0;
    await expectError(
      () =>
        layer.fit(x, y, {
          epochs: 3,
          batchSize: 2,
          callbacks: {
            onBatchEnd: async () => {
              batches++;
              if (batches === 2) await layer.dispose();
            },
          },
        }),
      'LAYER_DISPOSED',
    );
    check(batches === 2, () => `fit ran ${batches} batches; it must stop at the batch after dispose().`);
  },
};

const manifest: ConformanceCase = {
  id: 'manifest/complete',
  group: 'manifest',
  title: 'supports is complete, frozen and well-formed (booleans, export formats, a storage with its bound, byte limits)',
  async run(context) {
    const layer = await layerFor(context);
    try {
      const s = layer.supports as BackendCapabilitiesV2 & Record<string, unknown>;
      for (const key of CAPABILITY_KEYS) check(key in s, () => `supports.${key} is missing.`);
      check(Object.isFrozen(s), 'supports must be frozen: capabilities cannot change after layers were made.');
      check(typeof s.training === 'boolean' && typeof s.lookupInto === 'boolean', 'training and lookupInto must be booleans.');
      check(Array.isArray(s.export) && s.export.every((f) => typeof f === 'string'), 'export must list format names.');
      const { bound } = s.storage;
      check(
        bound.relative >= 0 && bound.absolute >= 0 && Number.isFinite(bound.relative) && Number.isFinite(bound.absolute),
        'storage.bound must be finite and >= 0.',
      );
      check(s.storage.dtype !== 'float32' || isExact(bound), 'float32 storage must be exact (bound { 0, 0 }).');
      check(s.maxTableBytes > 0 && s.maxOutputBytes > 0, 'maxTableBytes and maxOutputBytes must be positive.');
      check(
        Array.isArray(s.optimizers) && (s.optimizers.length === 0 || s.training),
        'optimizers must be an array, empty unless training is declared.',
      );
      check(layer.describe().storage === s.storage.dtype, 'describe().storage must name the storage of supports.');
    } finally {
      await layer.dispose();
    }
  },
};

const storageHolds: ConformanceCase = {
  id: 'manifest/storage-bound',
  group: 'manifest',
  title: 'Values read back (getWeights, lookups, readRows) are within the declared storage bound of their row; float32 is bit-exact',
  async run(context) {
    const rows = 40;
    const d = 12;
    const table = spreadTable(rows, d);
    const layer = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: await context.createBackend(), weights: [table] });
    try {
      const bound = storageBound(layer.supports, context.tolerance);
      const all = Int32Array.from({ length: rows }, (_, i) => i);
      const tolerance = toleranceOf(bound, rowMaxes(table, rows, d), all, d);
      checkWithin('getWeights', (await layer.getWeights())[0]!, table, tolerance);
      checkWithin('readRows(0, rows)', await layer.readRows(0, rows), table, tolerance);
      const ids = Int32Array.from({ length: 3 * rows }, (_, i) => (i * 17) % rows);
      const out = await layer.predict(ids);
      checkWithin(
        'lookup',
        out.data,
        referenceLookup(table, { data: ids, shape: [ids.length] }, d),
        toleranceOf(bound, rowMaxes(table, rows, d), ids, d),
      );
    } finally {
      await layer.dispose();
    }
  },
};

const outputLimit: ConformanceCase = {
  id: 'limits/output-over-limit',
  group: 'limits',
  title:
    'A lookup whose output passes supports.maxOutputBytes (here 16 GiB+) rejects with LIMIT_EXCEEDED before anything is allocated; the layer still works',
  async run(context) {
    const d = 65536;
    const layer = await Embedding.create(
      { inputDim: 2, outputDim: d },
      { backend: await context.createBackend(), weights: [new Float32Array(2 * d).fill(0.5)] },
    );
    try {
      // (2^16 + 1) indices x 2^16 floats x 4 bytes > 2^34 bytes: more than one Float32Array and any declared limit up to 16 GiB.
      const n = Math.max(d + 1, Math.floor(Math.min(layer.supports.maxOutputBytes, 2 ** 40) / (d * 4)) + 1);
      const error = await expectError(() => layer.predict({ data: new Int32Array(n), shape: [n] }), 'LIMIT_EXCEEDED');
      check(/bytes/.test(error.message), 'the error must say how many bytes the lookup needed and the limit.');
      const small = await layer.predict([1, 0]);
      const stored = await layer.readRows(0, 2);
      check(
        small.data.length === 2 * d &&
          small.data[0] === stored[d] &&
          small.data[2 * d - 1] === stored[d - 1] &&
          Math.abs(stored[0]! - 0.5) < 0.01,
        'a valid lookup after the refused one must still work.',
      );
    } finally {
      await layer.dispose();
    }
  },
};

const rowsReadWrite: ConformanceCase = {
  id: 'rows/read-write',
  group: 'rows',
  title: 'readRows and writeRows move row ranges (across any internal shard or chunk) and lookups see the writes',
  async run(context) {
    const rows = 50;
    const d = 3;
    const table = spreadTable(rows, d);
    const layer = await Embedding.create({ inputDim: rows, outputDim: d }, { backend: await context.createBackend(), weights: [table] });
    try {
      const bound = storageBound(layer.supports, context.tolerance);
      // Each expected value within the bound of its own row.
      const rowTol = (source: Float32Array) =>
        toleranceOf(
          bound,
          rowMaxes(source, source.length / d, d),
          Int32Array.from({ length: source.length / d }, (_, i) => i),
          d,
        );
      checkWithin('readRows(4, 3)', await layer.readRows(4, 3), table.subarray(12, 21), rowTol(table.subarray(12, 21)));
      check((await layer.readRows(7, 0)).length === 0, 'readRows(start, 0) must be empty.');
      const fresh = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await layer.writeRows(4, fresh);
      checkWithin('lookup of written rows', (await layer.predict([4, 5, 6])).data, fresh, rowTol(fresh));
      checkWithin('rows around the write', await layer.readRows(3, 1), table.subarray(9, 12), rowTol(table.subarray(9, 12)));
      await layer.writeRows(49, [0.25, -0.5, 1]);
      checkWithin('last row', await layer.readRows(49, 1), Float32Array.from([0.25, -0.5, 1]), rowTol(Float32Array.from([0.25, -0.5, 1])));
    } finally {
      await layer.dispose();
    }
  },
};

const rowsErrors: ConformanceCase = {
  id: 'rows/bad-ranges',
  group: 'rows',
  title: 'Row ranges outside the table are a SHAPE_MISMATCH, partial rows an INVALID_WEIGHTS, and change nothing',
  async run(context) {
    const layer = await layerFor(context, { inputDim: 5, outputDim: 2, seed: 3 });
    try {
      const before = (await layer.getWeights())[0]!;
      await expectError(() => layer.readRows(4, 2), 'SHAPE_MISMATCH');
      await expectError(() => layer.readRows(-1, 1), 'SHAPE_MISMATCH');
      await expectError(() => layer.readRows(0.5, 1), 'SHAPE_MISMATCH');
      await expectError(() => layer.writeRows(4, new Float32Array(4)), 'SHAPE_MISMATCH');
      await expectError(() => layer.writeRows(0, new Float32Array(3)), 'INVALID_WEIGHTS');
      await expectError(() => layer.writeRows(0, ['x', 1] as unknown as number[]), 'INVALID_WEIGHTS');
      checkFloats('weights after refused row writes', (await layer.getWeights())[0]!, before);
    } finally {
      await layer.dispose();
    }
  },
};

const boundedMessage: ConformanceCase = {
  id: 'weights/bounded-error-message',
  group: 'weights',
  title:
    'setWeights(new Float32Array(n)) without the list is an INVALID_WEIGHTS whose message summarizes the value (type, length, first values), never prints it',
  async run(context) {
    const layer = await layerFor(context, { inputDim: 1000, outputDim: 250, seed: 1 });
    try {
      const big = new Float32Array(250_000).fill(0.125);
      const error = await expectError(() => layer.setWeights(big as never), 'INVALID_WEIGHTS');
      check(
        error.message.length < 600,
        () => `the message is ${error.message.length} characters; it must summarize the value, not print it.`,
      );
      check(/Float32Array\(250000\)/.test(error.message), () => `the message must name the type and length: ${error.message}`);
    } finally {
      await layer.dispose();
    }
  },
};

const exportUnlisted: ConformanceCase = {
  id: 'export/unlisted-format',
  group: 'export',
  title: 'export() of a format the backend does not list in supports.export rejects with UNSUPPORTED_FEATURE',
  async run(context) {
    const layer = await layerFor(context);
    try {
      await expectError(() => layer.export('no-such-format'), 'UNSUPPORTED_FEATURE');
    } finally {
      await layer.dispose();
    }
  },
};

const exportDeclared: ConformanceCase = {
  id: 'export/declared-formats',
  group: 'export',
  title: 'Every format of supports.export gives a non-empty byte array (an ONNX export holds the layer name and its Keras config)',
  requires: 'export',
  skip: (s) => (s.export.length > 0 ? null : 'the backend exports nothing (supports.export is empty)'),
  async run(context) {
    const layer = await Embedding.create(
      { inputDim: 6, outputDim: 2, seed: 4, name: 'exported_layer', maskZero: true },
      { backend: await context.createBackend() },
    );
    try {
      for (const format of layer.supports.export) {
        const bytes = await layer.export(format);
        check(bytes instanceof Uint8Array && bytes.length > 0, () => `export(${JSON.stringify(format)}) must give a non-empty Uint8Array.`);
        if (format === 'onnx') {
          const text = new TextDecoder('latin1').decode(bytes);
          check(
            text.includes('keras_config') && text.includes('exported_layer'),
            'an ONNX export must carry keras_config metadata with the layer name.',
          );
        }
      }
    } finally {
      await layer.dispose();
    }
  },
};

/** The cases not driven by fixtures. */
export const EXTRA_CASES: readonly ConformanceCase[] = [
  outWrongLength,
  outOverlapsIndices,
  boundedMessage,
  dispose,
  disposeWaits,
  disposeDuringFit,
  manifest,
  storageHolds,
  outputLimit,
  rowsReadWrite,
  rowsErrors,
  exportUnlisted,
  exportDeclared,
];
