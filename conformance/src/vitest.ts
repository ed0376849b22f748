import type { BackendCapabilitiesV2 } from '@embedding-layer/core';
import { describe, it } from 'vitest';
import { CONFORMANCE_CASES, CONFORMANCE_GROUPS } from './cases.js';
import { capabilitiesOf } from './run.js';
import type { BackendFactory, CaseContext } from './types.js';

export type { BackendFactory } from './types.js';

/** Options of {@link describeEmbeddingConformance} and of each group's function. */
export interface DescribeConformanceOptions {
  /** Shown in the test titles, e.g. `'adapter-js'`. */
  name: string;
  /** Makes a fresh backend; each test gets its own. */
  createBackend: BackendFactory;
  /** Extra absolute slack on top of the declared storage bound; 0 (default): float32 bit for bit. */
  tolerance?: number;
  /** Relative tolerance of trained weights and losses against the float64 reference. Default 1e-5. */
  trainingTolerance?: number;
  /** Only these groups (default: all). Prefer the default: a backend's gaps belong in its `supports`. */
  groups?: readonly string[];
}

/** Registers one group's cases: one `it` per case; a case the backend's capabilities exclude is skipped, with the reason. */
function describeGroup(group: string, options: DescribeConformanceOptions): void {
  const context: CaseContext = {
    createBackend: options.createBackend,
    tolerance: options.tolerance ?? 0,
    trainingTolerance: options.trainingTolerance ?? 1e-5,
  };
  let supports: Promise<BackendCapabilitiesV2> | null = null;
  describe(group, () => {
    for (const c of CONFORMANCE_CASES.filter((x) => x.group === group)) {
      it(`${c.id}: ${c.title}`, async (test) => {
        if (c.skip) {
          supports ??= capabilitiesOf(options.createBackend);
          const reason = c.skip(await supports);
          if (reason !== null) return test.skip(`${c.id}: ${reason}`);
        }
        await c.run(context);
      });
    }
  });
}

/** Defines a group function of the suite. */
function group(name: string): (options: DescribeConformanceOptions) => void {
  return (options) => describe(`${options.name} conformance`, () => describeGroup(name, options));
}

/** The `lookup` group: lookups against fixtures (Keras, TF.js, the seed docs) within the storage bound, and `predict(x, { out })`. */
export const describeLookupConformance = group('lookup');
/** The `mask` group: `computeMask` is `index != 0` with `mask_zero`, null without. */
export const describeMaskConformance = group('mask');
/** The `outputShape` group: Keras's `compute_output_shape` with `input_length`. */
export const describeOutputShapeConformance = group('outputShape');
/** The `configError` group: bad configs are refused before the backend allocates anything. */
export const describeConfigErrorConformance = group('configError');
/** The `indexError` group: bad indices are refused with their position, and change nothing. */
export const describeIndexErrorConformance = group('indexError');
/** The `initializer` group: Keras's initializers, statistics and seeded bits. */
export const describeInitializerConformance = group('initializer');
/** The `roundTrip` group: `getConfig()` equals the Keras config of the input, and `fromConfig` keeps it. */
export const describeRoundTripConformance = group('roundTrip');
/** The `weights` group: `getWeights` / `setWeights` as Keras has them, `validate()`, bounded error messages. */
export const describeWeightsConformance = group('weights');
/** The `training` group: Keras 3's optimizers, losses, regularizers and constraints (or rejection without `supports.training`). */
export const describeTrainingConformance = group('training');
/** The `lifecycle` group: `dispose()`, also while calls and `fit` run. */
export const describeLifecycleConformance = group('lifecycle');
/** The `manifest` group: `supports` is complete and frozen, and the storage keeps its declared bound. */
export const describeManifestConformance = group('manifest');
/** The `limits` group: an output over `maxOutputBytes` is refused before allocation, and the layer still works. */
export const describeLimitsConformance = group('limits');
/** The `rows` group: `readRows` / `writeRows` and their errors. */
export const describeRowsConformance = group('rows');
/** The `export` group: `export()` of declared and undeclared formats. */
export const describeExportConformance = group('export');
/** The `pytorch` group: PyTorch's `padding_idx`, `max_norm` / `norm_type`, `scale_grad_by_freq` and `from_pretrained`, against torch 1.13. */
export const describePytorchConformance = group('pytorch');
/** The `embedding-bag` group: PyTorch's `nn.EmbeddingBag` (sum / mean / max, offsets, per-sample weights, padding, max_norm, training), against torch 1.13. */
export const describeEmbeddingBagConformance = group('embedding-bag');
/** The `keras3-lora` group: Keras 3's LoRA (`loraRank` / `enableLora`, the merged table, training a and b), against the float64 reference of its formula. */
export const describeKeras3LoraConformance = group('keras3-lora');
/** The `int4` group: `quantize('int8' | 'int4')` as Keras 3 names them, and Keras 3's per-channel int4 on backends that declare int4 storage. */
export const describeInt4Conformance = group('int4');

/**
 * Registers the whole conformance suite with vitest: one `describe` per group, one `it` per
 * case, titled by the case id. Call it at the top level of a test file:
 *
 * ```ts
 * describeEmbeddingConformance({ name: 'my-backend', createBackend: () => createMyBackend() });
 * ```
 *
 * Capabilities come from the backend's `supports`, never from options: a case that needs a
 * missing capability checks that the call is rejected with `UNSUPPORTED_FEATURE`, a case the
 * storage cannot pass by construction (bit patterns on int8) is skipped with its reason, and
 * tolerances come from `supports.storage.bound`. Each group is also its own function
 * (`describeLookupConformance`, ...) for running one group.
 */
export function describeEmbeddingConformance(options: DescribeConformanceOptions): void {
  const groups = options.groups ?? CONFORMANCE_GROUPS;
  describe(`${options.name} conformance`, () => {
    for (const name of groups) describeGroup(name, options);
  });
}

export {
  checkHeapGrowth,
  collectGarbage,
  HEAP_GROWTH_BOUND,
  HEAP_GROWTH_PER_CALL,
  HEAP_GROWTH_SLACK,
  type HeapFigures,
  heapGrowthBound,
  type LiveObjects,
  liveObjects,
  reportHeapGrowth,
  settledHeap,
} from './heap.js';
export { type DescribePropertiesOptions, describeEmbeddingProperties } from './properties.js';
