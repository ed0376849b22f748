import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import type { ModelFormat } from '../src/index.js';

/**
 * The real third-party files: `shared/fixtures/real/` and `shared/fixtures/real-2/`, beside the
 * repository (`../shared` from its root). They are copied byte for byte from public GitHub
 * repositories (each folder's SOURCES.md names the repository, commit, licence and the values
 * read with h5py / numpy / onnx) and are not part of this repository.
 *
 * Tests that need them run when the folder is there and skip visibly otherwise (a describe whose
 * title names the missing folder); with `EMBEDDING_LAYER_REQUIRE_SHARED=1` (CI sets it) a missing
 * folder fails instead.
 */
export const SHARED_DIR = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));
export const REAL_DIR = join(SHARED_DIR, 'real/');
export const REAL2_DIR = join(SHARED_DIR, 'real-2/');

/** True when `EMBEDDING_LAYER_REQUIRE_SHARED=1`: a missing shared folder fails the tests instead of skipping them. */
export const REQUIRE_SHARED = process.env.EMBEDDING_LAYER_REQUIRE_SHARED === '1';

export type SharedFolder = 'real' | 'real-2';

const FOLDERS: Record<SharedFolder, string> = { real: REAL_DIR, 'real-2': REAL2_DIR };

/** True when a shared folder is there (its SOURCES.md exists). */
export function hasShared(folder: SharedFolder): boolean {
  return existsSync(join(FOLDERS[folder], 'SOURCES.md'));
}

/** Why a shared folder's tests did not run, for titles and errors. */
export function missingShared(folder: SharedFolder): string {
  return `../shared/fixtures/${folder}/ is missing: third-party model files kept beside the repository (not in it), copied from public GitHub repositories named in its SOURCES.md`;
}

/**
 * `describe(title, fn)` when the shared folder is there. Otherwise one skipped test in a describe
 * whose title says which folder is missing and where the files come from, or, with
 * `EMBEDDING_LAYER_REQUIRE_SHARED=1`, one failing test saying so. `fn` must not read the files
 * while collecting (only inside tests and hooks).
 */
export function describeShared(folder: SharedFolder | readonly SharedFolder[], title: string, fn: () => void): void {
  const missing = (typeof folder === 'string' ? [folder] : folder).filter((f) => !hasShared(f));
  if (missing.length === 0) {
    describe(title, fn);
    return;
  }
  const why = missing.map(missingShared).join('; ');
  if (REQUIRE_SHARED) {
    describe(title, () => {
      it(`needs ${missing.map((f) => `../shared/fixtures/${f}/`).join(' and ')}`, () => {
        throw new Error(
          `${why} (looked for ${missing.map((f) => `${FOLDERS[f]}SOURCES.md`).join(', ')}). EMBEDDING_LAYER_REQUIRE_SHARED=1 makes this a failure.`,
        );
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${why})`, () => {
      it('all of its tests', () => {});
    });
  }
}

export interface RealFixture {
  /** Path relative to REAL_DIR. */
  file: string;
  layer: string;
  inputDim: number;
  outputDim: number;
  /** First values of rows 0, 1 and 2, from SOURCES.md. */
  rows: [number[], number[], number[]];
}

export const REAL = {
  misc0: {
    file: 'dl4j-keras2-h5/misc_0.h5',
    layer: 'embedding',
    inputDim: 10,
    outputDim: 8,
    rows: [
      [0.02577073499560356, 0.004564367234706879, -0.002555500715970993, 0.03518266603350639, -0.035378120839595795],
      [-0.0006016604602336884, -0.03822929784655571, -0.0046735890209674835, 0.0334136001765728, 0.016207564622163773],
      [-0.026120079681277275, 0.012130104005336761, 0.02235431596636772, 0.044640373438596725, -0.048629023134708405],
    ],
  },
  conv1d: {
    file: 'dl4j-keras2-h5/embedding_conv1d_extended_tensorflow_2.h5',
    layer: 'embedding_1',
    inputDim: 200,
    outputDim: 50,
    rows: [
      [0.0015031099319458008, -0.031006945297122, 0.029813099652528763, -0.02584247663617134, -0.002870596945285797],
      [0.023204218596220016, 0.010044265538454056, -0.03185628727078438, -0.03399019315838814, 0.031433168798685074],
      [-0.01685521751642227, 0.030912701040506363, -0.030640829354524612, -0.028951061889529228, 0.044838134199380875],
    ],
  },
  textgenrnn: {
    file: 'textgenrnn-weights-hdf5/textgenrnn_weights.hdf5',
    layer: 'embedding',
    inputDim: 465,
    outputDim: 100,
    rows: [
      [0.257595956325531, 0.014956620521843433, -0.3453368544578552, -0.009056360460817814, 1.1166304349899292],
      [-0.09109166264533997, -0.2510083019733429, -0.16786856949329376, 0.024052737280726433, -0.11202297359704971],
      [-0.07966537773609161, -0.18131598830223083, -0.47835811972618103, -0.2660805881023407, -0.1877548098564148],
    ],
  },
  tfjs: {
    file: 'harshaky-tfjs-sentiment/model.json',
    layer: 'embedding',
    inputDim: 6000,
    outputDim: 128,
    rows: [
      [-0.02756972797214985, 0.01513429544866085, -0.02841837704181671, -0.03845564275979996, 0.0020118069369345903],
      [-0.005263166036456823, 0.010738448239862919, -0.030659709125757217, -0.03265804052352905, -9.059040166903287e-5],
      [0.0271083302795887, 0.06697440892457962, -0.0557028166949749, -0.005541060585528612, -0.044528961181640625],
    ],
  },
  keras3: {
    file: 'aura-keras3-sentiment/sentiment_model.keras',
    layer: 'embedding_1',
    inputDim: 10000,
    outputDim: 16,
    rows: [
      [-0.10599109530448914, 0.5129466652870178, -0.15704315900802612, 0.1493646204471588, 0.5799376368522644],
      [-0.3010041117668152, -0.11155805736780167, -0.23096086084842682, -0.21432001888751984, 0.34576115012168884],
      [-0.2238810956478119, 0.7721191048622131, -0.2375350445508957, 0.17460507154464722, 0.8837145566940308],
    ],
  },
  onnx: {
    file: 'onnx-pytorch-embedding/model.onnx',
    layer: '1',
    inputDim: 4,
    outputDim: 3,
    rows: [
      [0.34161806106567383, -0.38997122645378113, -2.278081178665161],
      [1.1805105209350586, 1.9160828590393066, 0.3763854503631592],
      [-0.8006095886230469, 0.8450742363929749, 0.42552754282951355],
    ],
  },
} satisfies Record<string, RealFixture>;

/** Absolute path of a real fixture. */
export function realPath(fixture: RealFixture): string {
  return join(REAL_DIR, fixture.file);
}

/** One table of a real-2 file, as its SOURCES.md documents it. */
export interface Real2Table {
  /** The name our readers give it (the layer name, or the tensor name without `.weight`). */
  readonly name: string;
  /** Where the table sits in the file (`EmbeddingRecord.location`). */
  readonly location: string;
  readonly inputDim: number;
  readonly outputDim: number;
  /** The `expected*.npy` file beside it: the float32 table read independently with h5py / numpy / onnx. */
  readonly expected: string;
  /** `mask_zero` from the file's config; null when the file holds no config (unknown). */
  readonly maskZero: boolean | null;
  /** `input_length` from the file's config (null: any length); undefined when the file holds no config. */
  readonly inputLength?: number | null;
}

/** One file of `shared/fixtures/real-2/` (see its SOURCES.md). */
export interface Real2Fixture {
  /** Path relative to REAL2_DIR. */
  readonly file: string;
  readonly format: ModelFormat;
  /** Every Embedding table of the file, in the order the readers list them. */
  readonly tables: readonly Real2Table[];
}

const deepfmTable = (name: string, inputDim: number, outputDim: number, expected: string, maskZero = false): Real2Table => ({
  name,
  location: `model_weights/${name}/${name}_1/embeddings:0`,
  inputDim,
  outputDim,
  expected,
  maskZero,
  inputLength: null,
});

export const REAL2: Readonly<Record<string, Real2Fixture>> = {
  keras1Tf: {
    file: 'dl4j-keras1-tf-lstm/embedding_lstm_tensorflow_1.h5',
    format: 'keras-h5',
    tables: [
      {
        name: 'embedding_1',
        location: 'model_weights/embedding_1/embedding_1_W:0',
        inputDim: 4,
        outputDim: 5,
        expected: 'expected.npy',
        maskZero: false,
        inputLength: 10,
      },
    ],
  },
  keras1Theano: {
    file: 'dl4j-keras1-theano-conv1d/embedding_conv1d_theano_1.h5',
    format: 'keras-h5',
    tables: [
      {
        name: 'embedding_1',
        location: 'model_weights/embedding_1/embedding_1_W',
        inputDim: 4,
        outputDim: 5,
        expected: 'expected.npy',
        maskZero: false,
        inputLength: 10,
      },
    ],
  },
  keras2Theano: {
    file: 'dl4j-keras2-theano-lstm/embedding_lstm_theano_2.h5',
    format: 'keras-h5',
    tables: [
      {
        name: 'embedding_1',
        location: 'model_weights/embedding_1/embedding_1/embeddings',
        inputDim: 4,
        outputDim: 5,
        expected: 'expected.npy',
        maskZero: false,
        inputLength: 10,
      },
    ],
  },
  customLoss: {
    file: 'dl4j-custom-loss/custom_loss.h5',
    format: 'keras-h5',
    tables: [
      {
        name: 'embedding_1',
        location: 'model_weights/embedding_1/embedding_1/embeddings:0',
        inputDim: 7,
        outputDim: 4,
        expected: 'expected.npy',
        maskZero: false,
        inputLength: 3,
      },
    ],
  },
  deepfm: {
    file: 'dl4j-deepfm/deepfm.h5',
    format: 'keras-h5',
    tables: [
      deepfmTable('cat_embed_2d_genre', 15, 20, 'expected.npy'),
      deepfmTable('cat_embed_2d_uid', 6041, 20, 'expected__cat_embed_2d_uid.npy'),
      deepfmTable('cat_embed_2d_mid', 3953, 20, 'expected__cat_embed_2d_mid.npy'),
      deepfmTable('cat_embed_1d_uid', 6041, 1, 'expected__cat_embed_1d_uid.npy'),
      deepfmTable('cat_embed_1d_mid', 3953, 1, 'expected__cat_embed_1d_mid.npy'),
      deepfmTable('cat_embed_1d_genre', 15, 1, 'expected__cat_embed_1d_genre.npy', true),
    ],
  },
  ncf: {
    file: 'ncf-gmf-weights/ml-1m_GMF_8_1501651698.h5',
    format: 'keras-h5',
    tables: [
      {
        name: 'item_embedding',
        location: 'item_embedding/item_embedding_W',
        inputDim: 3706,
        outputDim: 8,
        expected: 'expected.npy',
        maskZero: null,
      },
      {
        name: 'user_embedding',
        location: 'user_embedding/user_embedding_W',
        inputDim: 6040,
        outputDim: 8,
        expected: 'expected__user_embedding.npy',
        maskZero: null,
      },
    ],
  },
  nnsplit: {
    file: 'nnsplit-bilstm-onnx/model.onnx',
    format: 'onnx',
    tables: [
      {
        name: 'embedding.weight',
        location: 'initializer embedding.weight',
        inputDim: 256,
        outputDim: 32,
        expected: 'expected.npy',
        maskZero: null,
      },
    ],
  },
  burn: {
    file: 'burn-embedding-safetensors/embedding.safetensors',
    format: 'safetensors',
    tables: [{ name: 'embed', location: 'embed.weight', inputDim: 10, outputDim: 3, expected: 'expected.npy', maskZero: null }],
  },
  model2vecF16: {
    file: 'model2vec-f16-safetensors/model.safetensors',
    format: 'safetensors',
    tables: [{ name: 'embeddings', location: 'embeddings', inputDim: 29528, outputDim: 2, expected: 'expected.npy', maskZero: null }],
  },
  model2vecVocabQ: {
    file: 'model2vec-vocabq-safetensors/model.safetensors',
    format: 'safetensors',
    tables: [{ name: 'embeddings', location: 'embeddings', inputDim: 128, outputDim: 64, expected: 'expected.npy', maskZero: null }],
  },
};

/** Absolute path of a real-2 file. */
export function real2Path(fixture: Real2Fixture): string {
  return join(REAL2_DIR, fixture.file);
}

/** A table's expected values, from its `expected*.npy` beside the file. */
export function real2Expected(fixture: Real2Fixture, table: Real2Table): Float32Array {
  const dir = fixture.file.slice(0, fixture.file.lastIndexOf('/'));
  const { shape, values } = readFloat32Npy(join(REAL2_DIR, dir, table.expected));
  if (shape.length !== 2 || shape[0] !== table.inputDim || shape[1] !== table.outputDim)
    throw new Error(`${table.expected}: shape ${JSON.stringify(shape)}, SOURCES.md says [${table.inputDim}, ${table.outputDim}]`);
  return values;
}

/**
 * A little-endian float32 C-order .npy file, parsed here rather than with the package's own
 * reader, so the expected values do not depend on the code under test.
 */
export function readFloat32Npy(path: string): { shape: number[]; values: Float32Array } {
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4' || fortran !== 'False' || shapeText === undefined)
    throw new Error(`${path}: expected a C-order <f4 array, header ${header}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(start + headerLength);
  if (data.length !== count * 4) throw new Error(`${path}: ${data.length} data bytes for shape ${JSON.stringify(shape)}`);
  const values = new Float32Array(count);
  new Uint8Array(values.buffer).set(data);
  return { shape, values };
}

/** The first `n` values of row `r` of a row-major matrix, as plain numbers. */
export function rowStart(weights: Float32Array, outputDim: number, r: number, n: number): number[] {
  return Array.from(weights.subarray(r * outputDim, r * outputDim + n));
}

/** Bit-exact equality of two float32 arrays (NaN payloads included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return firstBitDifference(a, b) === -1;
}

/** Index of the first value whose bits differ (or the shorter length when the lengths differ); -1 when equal bit for bit. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, n);
  const y = new Uint32Array(b.buffer, b.byteOffset, n);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return i;
  return a.length === b.length ? -1 : n;
}
