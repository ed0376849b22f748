// The ONNX graph of an EmbeddingBag: the Embedding's own graph (Gather, and max_norm's rescaling)
// on a padded [bags, length] matrix of indices, then the pooling of each bag over the valid
// positions (ReduceSum / ReduceSum / count / ReduceMax with -inf fill).
import { type EmbeddingBag, InvalidConfigError, type ResolvedEmbeddingConfig } from '@embedding-layer/core';
import { buildEmbeddingModel, type OnnxIndexType, tableBytes } from '@embedding-layer/onnx-model';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const Attr = onnx.AttributeProto.AttributeType;

/** Names of the pooled graph's inputs and output: stable, part of the public contract. */
export const ONNX_BAG_NAMES = {
  /** Graph input: `[n]` indices (ragged) or `[batch, length]` (fixed), int32 or int64. */
  indices: 'indices',
  /** Graph input (ragged only): where each bag starts, torch's `offsets` (with `include_last_offset`, one more: the end). */
  offsets: 'offsets',
  /** Graph input with `perSampleWeights: true` (mode `'sum'`): float32, the indices' shape. */
  perSampleWeights: 'per_sample_weights',
  /** Graph output: float32 `[bags, output_dim]`. */
  output: 'output',
} as const;

/** Options of {@link buildEmbeddingBagModel} and {@link bagToOnnx}. */
export interface BagToOnnxOptions {
  /** Element type of `indices` (and `offsets`). Default `'int64'`, torch's. */
  indexType?: OnnxIndexType;
  /**
   * `'ragged'` (default): inputs `indices` `[n]` and `offsets`, torch's 1-D form. `'fixed'`:
   * one input `indices` `[batch, length]`, one bag per row (torch's 2-D form).
   */
  bags?: 'ragged' | 'fixed';
  /** Add the input `per_sample_weights` (mode `'sum'` only, as torch). Default false. */
  perSampleWeights?: boolean;
}

/** What the pooled graph needs of a layer: the table's config, the pooling mode and the offsets rule. */
export interface BagModelConfig {
  /** The table's config (`bag.embedding.config`): dims, name, padding_idx, max_norm, norm_type. */
  table: ResolvedEmbeddingConfig;
  /** torch's `mode`. */
  mode: 'sum' | 'mean' | 'max';
  /** torch's `include_last_offset`. */
  includeLastOffset: boolean;
}

function int64(name: string, values: number[], dims: number[] = [values.length]): onnxProto.onnx.ITensorProto {
  return { name, dataType: DataType.INT64, dims, int64Data: values };
}

function float(name: string, value: number): onnxProto.onnx.ITensorProto {
  return { name, dataType: DataType.FLOAT, dims: [], rawData: tableBytes(new Float32Array([value])).slice() };
}

function tensorType(elemType: number, dims: readonly (number | string)[]): onnxProto.onnx.ITypeProto {
  return { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } };
}

/**
 * Builds the ONNX model (opset 13) of an EmbeddingBag and returns its bytes. The graph: the
 * indices of each bag laid out as a `[bags, length]` matrix (length = the longest bag, at least
 * 1; short bags point at a dummy position), a `valid` mask (inside the bag and not
 * `padding_idx`), the Embedding's own graph on that matrix (Gather, and `max_norm`'s
 * rescaling of each gathered row, as `buildEmbeddingModel` makes it), then per bag:
 * `sum` = ReduceSum(Where(valid, rows, 0) [* per_sample_weights]), `mean` = that sum /
 * max(count, 1), `max` = ReduceMax(Where(valid, rows, -inf)), zeros for a bag with no valid
 * row. Offsets are not checked in the graph: validate them (core's `EmbeddingBag.predict`
 * does) before feeding a runtime.
 *
 * @throws InvalidConfigError for `perSampleWeights` with a mode other than `'sum'`, or a bad option.
 */
export function buildEmbeddingBagModel(config: BagModelConfig, weights: Float32Array, options: BagToOnnxOptions = {}): Uint8Array {
  const { table, mode, includeLastOffset } = config;
  const indexType = options.indexType ?? 'int64';
  if (indexType !== 'int32' && indexType !== 'int64')
    throw new InvalidConfigError(`options.indexType must be "int32" or "int64", received ${String(indexType)}.`);
  const bags = options.bags ?? 'ragged';
  if (bags !== 'ragged' && bags !== 'fixed')
    throw new InvalidConfigError(`options.bags must be "ragged" or "fixed", received ${String(bags)}.`);
  const weighted = options.perSampleWeights ?? false;
  if (weighted && mode !== 'sum') {
    throw new InvalidConfigError(
      `options.perSampleWeights needs mode 'sum' (torch: per_sample_weights is only supported for mode='sum'), and the layer's mode is '${mode}'.`,
    );
  }
  // The Embedding's graph (Gather, max_norm) on int64 indices [bags, length].
  const inner = onnx.ModelProto.decode(
    buildEmbeddingModel({ ...table, maskZero: false }, weights, {
      indexType: 'int64',
      inputShape: ['bags', 'bag_length'],
      table: 'initializer',
    }),
  );
  const graph = inner.graph!;
  const rename = (name: string) => (name === 'indices' ? 'bag_indices' : name === 'output' ? 'bag_rows' : name);
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const tail: onnxProto.onnx.INodeProto[] = (graph.node ?? []).map((n) => ({
    ...n,
    input: (n.input ?? []).map(rename),
    output: (n.output ?? []).map(rename),
  }));
  const initializers: onnxProto.onnx.ITensorProto[] = [...(graph.initializer ?? [])];
  const node = (opType: string, input: string[], output: string, attribute?: onnxProto.onnx.IAttributeProto[]) =>
    nodes.push({ name: output, opType, domain: '', input, output: [output], ...(attribute ? { attribute } : {}) });
  const d = table.outputDim;
  const N = ONNX_BAG_NAMES;
  const indexElem = indexType === 'int32' ? DataType.INT32 : DataType.INT64;
  const toInt64 = [{ name: 'to', type: Attr.INT, i: DataType.INT64 }];
  const toFloat = [{ name: 'to', type: Attr.INT, i: DataType.FLOAT }];
  const axis = (a: number) => [{ name: 'axis', type: Attr.INT, i: a }];
  initializers.push(
    int64('bag_zero_1', [0]),
    int64('bag_one_1', [1]),
    int64('bag_minus_one_1', [-1]),
    int64('bag_max_1', [2 ** 53 - 1]),
    int64('bag_zero', [0], []),
    int64('bag_one', [1], []),
    int64('bag_axis_0', [0]),
    int64('bag_axis_1', [1]),
    int64('bag_axis_2', [2]),
    float('bag_zero_f', 0),
    float('bag_one_f', 1),
    float('bag_minus_inf', Number.NEGATIVE_INFINITY),
  );
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  node('Cast', [N.indices], 'bag_ids', toInt64);
  if (bags === 'ragged') {
    inputs.push(
      { name: N.indices, type: tensorType(indexElem, ['n']), docString: 'Indices of every bag, one after another, in [0, input_dim).' },
      {
        name: N.offsets,
        type: tensorType(indexElem, [includeLastOffset ? 'bags_plus_one' : 'bags']),
        docString: includeLastOffset ? 'Where each bag starts, then n (CSR).' : 'Where each bag starts; offsets[0] = 0, non-decreasing.',
      },
    );
    node('Cast', [N.offsets], 'bag_offsets', toInt64);
    node('Shape', [N.indices], 'bag_n');
    // A dummy position n (index 0, never valid), so that every gather has a target, even with no indices.
    node('Concat', ['bag_ids', 'bag_zero_1'], 'bag_ids_padded', axis(0));
    if (includeLastOffset) {
      node('Slice', ['bag_offsets', 'bag_zero_1', 'bag_minus_one_1'], 'bag_starts');
      node('Slice', ['bag_offsets', 'bag_one_1', 'bag_max_1'], 'bag_ends');
    } else {
      node('Identity', ['bag_offsets'], 'bag_starts');
      node('Slice', ['bag_offsets', 'bag_one_1', 'bag_max_1'], 'bag_next');
      node('Concat', ['bag_next', 'bag_n'], 'bag_ends', axis(0));
    }
    node('Sub', ['bag_ends', 'bag_starts'], 'bag_lengths');
    node('Concat', ['bag_lengths', 'bag_one_1'], 'bag_lengths_1', axis(0));
    node('ReduceMax', ['bag_lengths_1'], 'bag_width', [
      { name: 'axes', type: Attr.INTS, ints: [0] },
      { name: 'keepdims', type: Attr.INT, i: 0 },
    ]);
    node('Range', ['bag_zero', 'bag_width', 'bag_one'], 'bag_steps');
    node('Unsqueeze', ['bag_starts', 'bag_axis_1'], 'bag_starts_2d');
    node('Unsqueeze', ['bag_steps', 'bag_axis_0'], 'bag_steps_2d');
    node('Add', ['bag_starts_2d', 'bag_steps_2d'], 'bag_positions');
    node('Unsqueeze', ['bag_ends', 'bag_axis_1'], 'bag_ends_2d');
    node('Less', ['bag_positions', 'bag_ends_2d'], 'bag_inside');
    node('Where', ['bag_inside', 'bag_positions', 'bag_n'], 'bag_safe');
    node('Gather', ['bag_ids_padded', 'bag_safe'], 'bag_indices', axis(0));
    if (weighted) {
      inputs.push({ name: N.perSampleWeights, type: tensorType(DataType.FLOAT, ['n']), docString: 'One weight per index (mode sum).' });
      initializers.push({ name: 'bag_zero_f_1', dataType: DataType.FLOAT, dims: [1], rawData: new Uint8Array(4) });
      node('Concat', [N.perSampleWeights, 'bag_zero_f_1'], 'bag_weights_padded', axis(0));
      node('Gather', ['bag_weights_padded', 'bag_safe'], 'bag_weights', axis(0));
    }
  } else {
    inputs.push({ name: N.indices, type: tensorType(indexElem, ['batch', 'length']), docString: 'One bag per row, in [0, input_dim).' });
    // One dummy column (index 0, never valid): a bag of length 0 still reduces over one position.
    node('Shape', ['bag_ids'], 'bag_shape');
    node('Slice', ['bag_shape', 'bag_zero_1', 'bag_one_1'], 'bag_batch');
    node('Slice', ['bag_shape', 'bag_one_1', 'bag_max_1'], 'bag_length');
    node('Concat', ['bag_batch', 'bag_one_1'], 'bag_column_shape', axis(0));
    node('ConstantOfShape', ['bag_column_shape'], 'bag_column', [
      { name: 'value', type: Attr.TENSOR, t: { dataType: DataType.INT64, dims: [1], int64Data: [0] } },
    ]);
    node('Concat', ['bag_ids', 'bag_column'], 'bag_indices', axis(1));
    node('Add', ['bag_length', 'bag_one_1'], 'bag_width_1');
    node('Squeeze', ['bag_width_1', 'bag_axis_0'], 'bag_width');
    node('Range', ['bag_zero', 'bag_width', 'bag_one'], 'bag_columns');
    node('Less', ['bag_columns', 'bag_length'], 'bag_columns_inside');
    node('Shape', ['bag_indices'], 'bag_padded_shape');
    node('Expand', ['bag_columns_inside', 'bag_padded_shape'], 'bag_inside');
    if (weighted) {
      inputs.push({
        name: N.perSampleWeights,
        type: tensorType(DataType.FLOAT, ['batch', 'length']),
        docString: 'One weight per index (mode sum).',
      });
      node('ConstantOfShape', ['bag_column_shape'], 'bag_weight_column', [
        { name: 'value', type: Attr.TENSOR, t: { dataType: DataType.FLOAT, dims: [1], rawData: new Uint8Array(4) } },
      ]);
      node('Concat', [N.perSampleWeights, 'bag_weight_column'], 'bag_weights', axis(1));
    }
  }
  let valid = 'bag_inside';
  if (table.paddingIdx !== null) {
    initializers.push(int64('bag_padding_idx', [table.paddingIdx], []));
    node('Equal', ['bag_indices', 'bag_padding_idx'], 'bag_is_padding');
    node('Not', ['bag_is_padding'], 'bag_not_padding');
    node('And', ['bag_inside', 'bag_not_padding'], 'bag_valid');
    valid = 'bag_valid';
  }
  // The pooling, after the Embedding's graph has made bag_rows [bags, length, d].
  const pool: onnxProto.onnx.INodeProto[] = [];
  const step = (opType: string, input: string[], output: string, attribute?: onnxProto.onnx.IAttributeProto[]) =>
    pool.push({ name: output, opType, domain: '', input, output: [output], ...(attribute ? { attribute } : {}) });
  const keep = (k: number) => [{ name: 'keepdims', type: Attr.INT, i: k }];
  step('Unsqueeze', [valid, 'bag_axis_2'], 'bag_valid_3d');
  step('Cast', [valid], 'bag_valid_f', toFloat);
  step('ReduceSum', ['bag_valid_f', 'bag_axis_1'], 'bag_count', keep(1));
  if (mode === 'max') {
    step('Where', ['bag_valid_3d', 'bag_rows', 'bag_minus_inf'], 'bag_masked');
    step('ReduceMax', ['bag_masked'], 'bag_max', [{ name: 'axes', type: Attr.INTS, ints: [1] }, ...keep(0)]);
    step('Greater', ['bag_count', 'bag_zero_f'], 'bag_any');
    step('Where', ['bag_any', 'bag_max', 'bag_zero_f'], N.output);
  } else {
    step('Where', ['bag_valid_3d', 'bag_rows', 'bag_zero_f'], 'bag_masked');
    let summed = 'bag_masked';
    if (weighted) {
      step('Unsqueeze', ['bag_weights', 'bag_axis_2'], 'bag_weights_3d');
      step('Mul', ['bag_masked', 'bag_weights_3d'], 'bag_weighted');
      summed = 'bag_weighted';
    }
    step('ReduceSum', [summed, 'bag_axis_1'], mode === 'sum' ? N.output : 'bag_sum', keep(0));
    if (mode === 'mean') {
      step('Max', ['bag_count', 'bag_one_f'], 'bag_divisor');
      step('Div', ['bag_sum', 'bag_divisor'], N.output);
    }
  }
  const rows = bags === 'ragged' ? 'bags' : 'batch';
  const allNodes = [...nodes, ...tail, ...pool];
  // Only the constants some node reads (ONNX Runtime warns about the others).
  const used = new Set(allNodes.flatMap((n) => n.input ?? []));
  const model = onnx.ModelProto.create({
    irVersion: inner.irVersion,
    opsetImport: inner.opsetImport,
    producerName: '@embedding-layer/adapter-onnx',
    domain: 'embedding-layer',
    modelVersion: 1,
    docString: `torch.nn.EmbeddingBag(${table.inputDim}, ${table.outputDim}, mode='${mode}', padding_idx=${table.paddingIdx ?? 'None'}, max_norm=${table.maxNorm ?? 'None'}, include_last_offset=${includeLastOffset ? 'True' : 'False'})`,
    metadataProps: [
      {
        key: 'torch_config',
        value: JSON.stringify({
          class_name: 'EmbeddingBag',
          num_embeddings: table.inputDim,
          embedding_dim: table.outputDim,
          mode,
          padding_idx: table.paddingIdx,
          max_norm: table.maxNorm,
          norm_type: table.normType,
          include_last_offset: includeLastOffset,
        }),
      },
    ],
    graph: {
      name: table.name,
      node: allNodes,
      initializer: initializers.filter((t) => used.has(t.name!)),
      input: inputs,
      output: [{ name: N.output, type: tensorType(DataType.FLOAT, [rows, d]), docString: 'The pooled rows: [bags, output_dim].' }],
      valueInfo: graph.valueInfo,
    },
  });
  return onnx.ModelProto.encode(model).finish().slice();
}

/**
 * The ONNX model of an EmbeddingBag on any backend, from its config and current table: the
 * bytes of a `.onnx` file whose graph pools bags as the layer's `predict` does (see
 * {@link buildEmbeddingBagModel}). Feed it `indices` and `offsets` (ragged, the default) or
 * `indices` `[batch, length]` (`bags: 'fixed'`).
 *
 * @example
 * ```ts
 * const bytes = await bagToOnnx(bag, { bags: 'ragged' });
 * ```
 */
export async function bagToOnnx(bag: EmbeddingBag, options: BagToOnnxOptions = {}): Promise<Uint8Array> {
  const weights = (await bag.getWeights())[0]!;
  const { mode, includeLastOffset } = bag.config;
  return buildEmbeddingBagModel({ table: bag.embedding.config, mode, includeLastOffset }, weights, options);
}
