import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real third-party files (`shared/fixtures/real/`, beside the repository: `../shared` from
 * the repo root). Rows are copied from its SOURCES.md (values read with h5py / numpy / onnx).
 */
export const REAL_DIR = fileURLToPath(new URL('../../../../shared/fixtures/real/', import.meta.url));

if (!existsSync(join(REAL_DIR, 'SOURCES.md'))) {
  throw new Error(
    `The real fixtures are missing: expected ${REAL_DIR}SOURCES.md. They live in shared/fixtures/real/ beside the repository (../shared from its root).`,
  );
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

/** The first `n` values of row `r` of a row-major matrix, as plain numbers. */
export function rowStart(weights: Float32Array, outputDim: number, r: number, n: number): number[] {
  return Array.from(weights.subarray(r * outputDim, r * outputDim + n));
}

/** Bit-exact equality of two float32 arrays (NaN payloads included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
