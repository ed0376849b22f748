// The pure ONNX model builder. It must never import onnxruntime-node (not even through the
// barrel at load time): @embedding-layer/io uses it to write .onnx files without the runtime (that is why it is a package of its own).
import { InvalidConfigError, InvalidWeightsError, type ResolvedEmbeddingConfig, toKerasConfig } from '@embedding-layer/core';
import onnxProto from 'onnx-proto';
import { tableBytes } from './little-endian.js';
import type { OnnxStorage } from './quantize.js';
import { DEFAULT_EXTERNAL_DATA_THRESHOLD, ONNX_IR_VERSION, ONNX_OPSET_VERSION } from './versions.js';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** The integer type of the `indices` input: Keras casts to int32; most ONNX pipelines feed int64. */
export type OnnxIndexType = 'int32' | 'int64';

/** Names of the graph's inputs, outputs, initializers and nodes: stable, part of the public contract. */
export const ONNX_NAMES = {
  /** Graph input: the indices, int32 or int64, shape `[batch, ...]`. */
  indices: 'indices',
  /** The table, float32 `[input_dim, output_dim]`: an initializer (or a graph input with `table: 'input'`). */
  embeddings: 'embeddings',
  /** Graph output: float32 `[...indices.shape, output_dim]`. */
  output: 'output',
  /** Graph output when mask_zero: bool, same shape as the indices, `indices != 0`. */
  mask: 'mask',
  /** Scalar initializer 0 of the index type, compared with the indices for the mask. */
  zero: 'zero',
  /** Intermediate bool value `indices == 0`. */
  isPadding: 'is_padding',
  /** int8 storage: graph input, the float32 scale of each row `[input_dim]` (value = q / scale). */
  scales: 'scales',
} as const;

/** Intermediate values of the quantized graphs (storage float16 / int8). */
const QUANT_NAMES = {
  gathered: 'gathered',
  gatheredFloat: 'gathered_float',
  gatheredScales: 'gathered_scales',
  scaleAxes: 'scale_axes',
  rowScales: 'row_scales',
} as const;

/** Where the table goes when it is stored as ONNX external data. */
export interface ExternalDataOptions {
  /**
   * File name of the external data, relative to the directory of the .onnx file (ONNX
   * requires a relative path inside the model's directory), e.g. `'model.onnx.data'`. The
   * caller writes {@link tableBytes}(weights) there, at offset 0.
   */
  location: string;
  /**
   * Store the table externally only when it is larger than this many bytes. Default
   * {@link DEFAULT_EXTERNAL_DATA_THRESHOLD} (just under protobuf's 2 GiB limit); 0 forces
   * external data for any non-empty table.
   */
  threshold?: number;
}

/** Options of {@link buildEmbeddingModel}. */
export interface BuildEmbeddingModelOptions {
  /** Element type of the `indices` input. Default `'int32'` (Keras casts indices to int32). */
  indexType?: OnnxIndexType;
  /**
   * Declared shape of `indices`: a number is a static dimension, a string a symbolic one
   * (`dim_param`). Default: Keras's input shape, `['batch', 'sequence']` without input_length
   * (Keras 2's `(None, None)`), `['batch', ...input_length]` with it (a null length becomes a
   * symbolic `sequence_<i>`). Not checked against input_length: this package's backend
   * declares a flat `['n']` and reshapes, since core has already checked every shape.
   */
  inputShape?: readonly (number | string)[];
  /**
   * `'initializer'` (default): the table is a constant of the model, as Keras exports it.
   * `'input'`: the table is a second graph input named `embeddings`, fed on every run (how
   * this package's backend runs the layer: no copy of the table in the session, and
   * `setWeights` needs no new session).
   */
  table?: 'initializer' | 'input';
  /** Store the table as ONNX external data (required for tables over 2 GiB). */
  externalData?: ExternalDataOptions;
  /**
   * With `weights` null and the table an initializer inside the model: the initializer
   * `embeddings` gets an empty `raw_data`, for a writer that streams the table's bytes into the
   * file itself. `@embedding-layer/io` splices the bytes in and corrects the lengths of the
   * enclosing TensorProto and GraphProto, which gives the same bytes as passing the weights.
   * The model is not valid until then. Default false.
   */
  deferTable?: boolean;
  /**
   * Element type of the `embeddings` input, with `table: 'input'` only (exported models hold
   * a float32 table). `'float32'` (default). `'float16'`: `embeddings` is FLOAT16 and the
   * graph is `Cast(Gather(embeddings, indices), to=FLOAT)`. `'int8'`: `embeddings` is INT8
   * and a second input `scales` (float32 `[input_dim]`) holds each row's scale; the graph is
   * `Div(Cast(Gather(embeddings, indices), to=FLOAT), Unsqueeze(Gather(scales, indices), -1))`.
   * `'int4'`: Keras 3's per-channel int4: `embeddings` is UINT8 `[input_dim, ceil(output_dim /
   * 2)]`, two values a byte (column 2k in the low nibble, 2k + 1 in the high one, two's
   * complement), plus `scales` as for int8; the graph gathers the packed rows, splits the
   * nibbles with integer Mod / Div (opset 13: no bitwise operators), signs them as
   * `(n + 8) mod 16 - 8`, interleaves them (Unsqueeze, Concat, Reshape; Slice for an odd
   * output_dim), casts to float and divides by the gathered scale: `q / scale`, as Keras.
   */
  storage?: OnnxStorage;
}

/** One dimension of a graph input or output: a fixed size, or a symbolic name such as `'batch'`. */
export type Dim = number | string;

function fail(option: string, value: unknown, rule: string): never {
  throw new InvalidConfigError(`${option} must be ${rule}, received ${typeof value === 'string' ? JSON.stringify(value) : String(value)}.`);
}

/** The default declared shape of `indices` for a layer config (Keras's input shape). */
export function defaultInputShape(config: Pick<ResolvedEmbeddingConfig, 'inputLength'>): Dim[] {
  const { inputLength } = config;
  if (inputLength === null) return ['batch', 'sequence'];
  const lengths = typeof inputLength === 'number' ? [inputLength] : [...inputLength];
  return ['batch', ...lengths.map((l, i) => l ?? (lengths.length === 1 ? 'sequence' : `sequence_${i + 1}`))];
}

function checkInputShape(shape: unknown): Dim[] {
  const rule = 'a non-empty array of non-negative integers (static dimensions) and non-empty strings (symbolic ones)';
  if (!Array.isArray(shape) || shape.length === 0) fail('options.inputShape', shape, rule);
  for (const d of shape) {
    const ok = (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0) || (typeof d === 'string' && d.length > 0);
    if (!ok) fail('options.inputShape', JSON.stringify(shape), rule);
  }
  return [...shape];
}

function checkExternalData(options: ExternalDataOptions): { location: string; threshold: number } {
  if (typeof options !== 'object' || options === null) fail('options.externalData', options, 'an object { location, threshold? }');
  const { location } = options;
  const parts = typeof location === 'string' ? location.split(/[\\/]/) : [];
  if (typeof location !== 'string' || location.length === 0 || /^([\\/]|[A-Za-z]:)/.test(location) || parts.includes('..')) {
    fail('options.externalData.location', location, 'a relative file path inside the model directory (no "..", not absolute)');
  }
  const threshold = options.threshold ?? DEFAULT_EXTERNAL_DATA_THRESHOLD;
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 0) {
    fail('options.externalData.threshold', threshold, 'a non-negative integer number of bytes');
  }
  return { location, threshold };
}

function tensorType(elemType: number, dims: readonly Dim[]): onnxProto.onnx.ITypeProto {
  return {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  };
}

/** Little-endian bytes of int32 / int64 values (initializer raw data). */
function intBytes(values: readonly number[], bytes: 4 | 8): Uint8Array {
  const out = new Uint8Array(values.length * bytes);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    if (bytes === 4) view.setInt32(i * 4, values[i]!, true);
    else view.setBigInt64(i * 8, BigInt(values[i]!), true);
  }
  return out;
}

/**
 * The nodes after `gather` (the packed rows, uint8 `[...indices, ceil(d / 2)]`) of Keras 3's
 * per-channel int4 graph, ending in `output`; pushes its initializers and value infos.
 */
function int4Nodes(
  outputDim: number,
  inputShape: readonly Dim[],
  initializers: onnxProto.onnx.ITensorProto[],
  valueInfo: onnxProto.onnx.IValueInfoProto[],
): onnxProto.onnx.INodeProto[] {
  const { INT32, INT64, FLOAT, UINT8 } = DataType;
  const bytes = (outputDim + 1) >> 1;
  const rank = inputShape.length;
  const i32 = (name: string, v: number) => initializers.push({ name, dataType: INT32, dims: [], rawData: intBytes([v], 4) });
  const i64 = (name: string, v: readonly number[]) =>
    initializers.push({ name, dataType: INT64, dims: [v.length], rawData: intBytes(v, 8) });
  i32('int4_16', 16);
  i32('int4_8', 8);
  i64('int4_last_axis', [-1]);
  // Reshape [...indices, bytes, 2] -> [...indices, 2 * bytes]: 0 copies an index dimension (the index shape may be symbolic).
  i64('int4_flat_shape', [...new Array<number>(rank).fill(0), 2 * bytes]);
  // The trim of an odd width's padding nibble only (an unused initializer makes ONNX Runtime warn on every session).
  if (outputDim % 2 === 1) {
    i64('int4_slice_start', [0]);
    i64('int4_slice_end', [outputDim]);
  }
  const toInt32 = [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: INT32 }];
  const toFloat = [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }];
  const lastAxis = [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }];
  const n = (name: string, opType: string, input: string[], output: string, attribute?: onnxProto.onnx.IAttributeProto[]) => ({
    name,
    opType,
    domain: '',
    input,
    output: [output],
    ...(attribute ? { attribute } : {}),
  });
  const packedDims = [...inputShape, bytes];
  const pairDims = [...inputShape, bytes, 1];
  for (const [name, elem, dims] of [
    [QUANT_NAMES.gathered, UINT8, packedDims],
    ['int4_bytes', INT32, packedDims],
    ['int4_low_u', INT32, packedDims],
    ['int4_high_u', INT32, packedDims],
    ['int4_low_p', INT32, packedDims],
    ['int4_high_p', INT32, packedDims],
    ['int4_low_m', INT32, packedDims],
    ['int4_high_m', INT32, packedDims],
    ['int4_low', INT32, packedDims],
    ['int4_high', INT32, packedDims],
    ['int4_low_e', INT32, pairDims],
    ['int4_high_e', INT32, pairDims],
    ['int4_pairs', INT32, [...inputShape, bytes, 2]],
    ['int4_values', INT32, [...inputShape, 2 * bytes]],
    ['int4_q', INT32, [...inputShape, outputDim]],
    [QUANT_NAMES.gatheredFloat, FLOAT, [...inputShape, outputDim]],
    [QUANT_NAMES.gatheredScales, FLOAT, inputShape],
    [QUANT_NAMES.rowScales, FLOAT, [...inputShape, 1]],
  ] as const) {
    valueInfo.push({ name, type: tensorType(elem, dims) });
  }
  const odd = outputDim !== 2 * bytes;
  return [
    n('int4_cast', 'Cast', [QUANT_NAMES.gathered], 'int4_bytes', toInt32),
    n('int4_low_nibble', 'Mod', ['int4_bytes', 'int4_16'], 'int4_low_u'),
    n('int4_high_nibble', 'Div', ['int4_bytes', 'int4_16'], 'int4_high_u'),
    // Two's complement nibble n in [0, 16) -> (n + 8) mod 16 - 8 in [-8, 8): Keras's (n ^ 8) - 8.
    n('int4_low_plus', 'Add', ['int4_low_u', 'int4_8'], 'int4_low_p'),
    n('int4_high_plus', 'Add', ['int4_high_u', 'int4_8'], 'int4_high_p'),
    n('int4_low_mod', 'Mod', ['int4_low_p', 'int4_16'], 'int4_low_m'),
    n('int4_high_mod', 'Mod', ['int4_high_p', 'int4_16'], 'int4_high_m'),
    n('int4_low_signed', 'Sub', ['int4_low_m', 'int4_8'], 'int4_low'),
    n('int4_high_signed', 'Sub', ['int4_high_m', 'int4_8'], 'int4_high'),
    n('int4_low_unsqueeze', 'Unsqueeze', ['int4_low', 'int4_last_axis'], 'int4_low_e'),
    n('int4_high_unsqueeze', 'Unsqueeze', ['int4_high', 'int4_last_axis'], 'int4_high_e'),
    n('int4_interleave', 'Concat', ['int4_low_e', 'int4_high_e'], 'int4_pairs', lastAxis),
    n('int4_flatten', 'Reshape', ['int4_pairs', 'int4_flat_shape'], odd ? 'int4_values' : 'int4_q'),
    ...(odd ? [n('int4_trim', 'Slice', ['int4_values', 'int4_slice_start', 'int4_slice_end', 'int4_last_axis'], 'int4_q')] : []),
    n('int4_to_float', 'Cast', ['int4_q'], QUANT_NAMES.gatheredFloat, toFloat),
    n('gather_scales', 'Gather', [ONNX_NAMES.scales, ONNX_NAMES.indices], QUANT_NAMES.gatheredScales, [
      { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
    ]),
    n('unsqueeze_scales', 'Unsqueeze', [QUANT_NAMES.gatheredScales, 'int4_last_axis'], QUANT_NAMES.rowScales),
    n('dequantize', 'Div', [QUANT_NAMES.gatheredFloat, QUANT_NAMES.rowScales], ONNX_NAMES.output),
  ];
}

/** A Uint8Array that owns its whole ArrayBuffer (protobufjs may return a slice of Node's shared pool). */
function ownBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return new Uint8Array(bytes.buffer, 0, bytes.byteLength);
  }
  return new Uint8Array(bytes);
}

/** A float32 scalar initializer. */
function floatScalar(name: string, value: number): onnxProto.onnx.ITensorProto {
  return { name, dataType: DataType.FLOAT, dims: [], rawData: tableBytes(new Float32Array([value])).slice() };
}

/**
 * `torch.embedding_renorm_` on gathered rows, as graph nodes: `norm` = the `normType`-norm of
 * each row (ReduceL2, ReduceL1, ReduceMax(Abs) for Infinity, else ReduceSum(|x|^p)^(1/p)),
 * then `output = rows * Where(norm > maxNorm, maxNorm / (norm + 1e-7), 1)`.
 */
function renormNodes(
  maxNorm: number,
  normType: number,
  rows: string,
  output: string,
  shape: readonly (number | string)[],
  nodes: onnxProto.onnx.INodeProto[],
  initializers: onnxProto.onnx.ITensorProto[],
  valueInfo: onnxProto.onnx.IValueInfoProto[],
): void {
  const ints = (name: string, values: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
  const lastAxis = [ints('axes', [-1]), { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 }];
  const node = (name: string, opType: string, input: string[], out: string, attribute?: onnxProto.onnx.IAttributeProto[]) =>
    nodes.push({ name, opType, domain: '', input, output: [out], ...(attribute ? { attribute } : {}) });
  initializers.push(floatScalar('renorm_max', maxNorm), floatScalar('renorm_epsilon', 1e-7), floatScalar('renorm_one', 1));
  if (normType === 2) node('renorm_norm', 'ReduceL2', [rows], 'renorm_norms', lastAxis);
  else if (normType === 1) node('renorm_norm', 'ReduceL1', [rows], 'renorm_norms', lastAxis);
  else if (normType === Number.POSITIVE_INFINITY) {
    node('renorm_abs', 'Abs', [rows], 'renorm_abs');
    node('renorm_norm', 'ReduceMax', ['renorm_abs'], 'renorm_norms', lastAxis);
  } else {
    initializers.push(floatScalar('renorm_p', normType), floatScalar('renorm_inverse_p', 1 / normType), {
      name: 'renorm_axes',
      dataType: DataType.INT64,
      dims: [1],
      rawData: new Uint8Array(8).fill(0xff), // int64 -1 (all bytes 0xff in any byte order)
    });
    node('renorm_abs', 'Abs', [rows], 'renorm_abs');
    node('renorm_pow', 'Pow', ['renorm_abs', 'renorm_p'], 'renorm_pow');
    node('renorm_sum', 'ReduceSum', ['renorm_pow', 'renorm_axes'], 'renorm_sum', [
      { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
    ]);
    node('renorm_norm', 'Pow', ['renorm_sum', 'renorm_inverse_p'], 'renorm_norms');
  }
  node('renorm_denominator', 'Add', ['renorm_norms', 'renorm_epsilon'], 'renorm_denominator');
  node('renorm_scale', 'Div', ['renorm_max', 'renorm_denominator'], 'renorm_scale');
  node('renorm_over', 'Greater', ['renorm_norms', 'renorm_max'], 'renorm_over');
  node('renorm_factor', 'Where', ['renorm_over', 'renorm_scale', 'renorm_one'], 'renorm_factor');
  node('renorm_apply', 'Mul', [rows, 'renorm_factor'], output);
  valueInfo.push({ name: rows, type: tensorType(DataType.FLOAT, [...shape]) });
}

/**
 * Builds the ONNX model of an Embedding layer and returns its protobuf bytes (a `.onnx` file).
 *
 * The graph, ONNX IR {@link ONNX_IR_VERSION} / opset {@link ONNX_OPSET_VERSION}:
 * `output = Gather(embeddings, indices, axis=0)` with the table as the float32 initializer
 * `embeddings` `[input_dim, output_dim]`, and, when `mask_zero`, a second output
 * `mask = Not(Equal(indices, 0))` of type bool. `indices` has a symbolic batch dimension
 * (and input_length's static ones); the layer's Keras config is stored in the metadata
 * property `keras_config`. This is what tf2onnx makes of a frozen Keras Embedding.
 *
 * With PyTorch's `max_norm` (`config.maxNorm`) and the table as an initializer (an exported
 * model), the graph rescales each gathered row whose `norm_type`-norm exceeds it by
 * `max_norm / (norm + 1e-7)` (ReduceL2 / ReduceL1 / ReduceMax(Abs) / Pow-ReduceSum-Pow, Greater,
 * Where, Mul): the output the layer's lookup gives (`torch.embedding_renorm_`), without the
 * in-place update a fixed file cannot make.
 *
 * ONNX's Gather counts negative indices from the end: validate indices (core's
 * `toIndexTensor`) before feeding a runtime, as this package's backend does.
 *
 * Pure: no ONNX Runtime needed (this module never imports it). Tables over 2 GiB need
 * `options.externalData`; the caller then writes `tableBytes(weights)` to its location.
 *
 * @param config A validated config (`layer.config`, or core's `resolveConfig(...)`).
 * @param weights The table, row-major float32, input_dim * output_dim values; or null with
 *   `externalData: { location, threshold: 0 }` when the caller writes the table's bytes
 *   itself (a chunk of rows at a time, say): the model then needs only the table's size; or
 *   null with `deferTable` for a caller that splices the table into `raw_data` itself.
 * @throws InvalidWeightsError when `weights` has the wrong type or length; InvalidConfigError
 *   for a bad option or a table too large for one protobuf without `externalData`.
 */
export function buildEmbeddingModel(
  config: ResolvedEmbeddingConfig,
  weights: Float32Array | null,
  options: BuildEmbeddingModelOptions = {},
): Uint8Array {
  const { inputDim, outputDim } = config;
  const size = inputDim * outputDim;
  if (weights === null) {
    // The table goes to external data the caller writes (the model needs only its size), or
    // into raw_data by a caller that splices it in (deferTable).
    const deferred = options.deferTable === true && options.table !== 'input';
    if (!deferred && (options.table === 'input' || options.externalData?.threshold !== 0))
      throw new InvalidWeightsError(
        'buildEmbeddingModel takes weights null only for a table stored as external data whatever its size (options.externalData with threshold 0), or with options.deferTable; pass the Float32Array otherwise.',
      );
  } else if (!(weights instanceof Float32Array) || weights.length !== size) {
    throw new InvalidWeightsError(
      `buildEmbeddingModel expected a Float32Array of ${size} values (${inputDim} x ${outputDim}), received ${
        weights instanceof Float32Array ? `${weights.length} values` : typeof weights
      }.`,
    );
  }
  const indexType = options.indexType ?? 'int32';
  if (indexType !== 'int32' && indexType !== 'int64') fail('options.indexType', indexType, '"int32" or "int64"');
  const table = options.table ?? 'initializer';
  if (table !== 'initializer' && table !== 'input') fail('options.table', table, '"initializer" or "input"');
  const inputShape = options.inputShape === undefined ? defaultInputShape(config) : checkInputShape(options.inputShape);
  const external = options.externalData === undefined ? null : checkExternalData(options.externalData);
  const storage = options.storage ?? 'float32';
  if (storage !== 'float32' && storage !== 'float16' && storage !== 'int8' && storage !== 'int4')
    fail('options.storage', storage, '"float32", "float16", "int8" or "int4"');
  if (storage !== 'float32' && table !== 'input') fail('options.storage', storage, '"float32" when the table is an initializer');

  const indexElem = indexType === 'int32' ? DataType.INT32 : DataType.INT64;
  const N = ONNX_NAMES;
  const inputs: onnxProto.onnx.IValueInfoProto[] = [
    { name: N.indices, type: tensorType(indexElem, inputShape), docString: 'Integer indices in [0, input_dim).' },
  ];
  const initializers: onnxProto.onnx.ITensorProto[] = [];

  if (table === 'input') {
    const tableElem =
      storage === 'float16' ? DataType.FLOAT16 : storage === 'int8' ? DataType.INT8 : storage === 'int4' ? DataType.UINT8 : DataType.FLOAT;
    const tableDims = storage === 'int4' ? [inputDim, (outputDim + 1) >> 1] : [inputDim, outputDim];
    inputs.push({ name: N.embeddings, type: tensorType(tableElem, tableDims), docString: `The embedding table (${storage}).` });
    if (storage === 'int8' || storage === 'int4') {
      inputs.push({ name: N.scales, type: tensorType(DataType.FLOAT, [inputDim]), docString: 'The scale of each row: value = q / scale.' });
    }
  } else {
    const tensor: onnxProto.onnx.ITensorProto = {
      name: N.embeddings,
      dataType: DataType.FLOAT,
      dims: [inputDim, outputDim],
      docString: `The ${config.name}/embeddings weight, row-major.`,
    };
    const tableByteLength = size * 4;
    if (external !== null && tableByteLength > external.threshold) {
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      tensor.externalData = [
        { key: 'location', value: external.location },
        { key: 'offset', value: '0' },
        { key: 'length', value: String(tableByteLength) },
      ];
    } else if (tableByteLength > DEFAULT_EXTERNAL_DATA_THRESHOLD) {
      throw new InvalidConfigError(
        `The table is ${tableByteLength} bytes: a model over 2 GiB cannot be one protobuf. Pass options.externalData ({ location: 'model.onnx.data' }) and write tableBytes(weights) to that file, or use writeOnnxFile.`,
      );
    } else {
      tensor.rawData = weights === null ? new Uint8Array(0) : tableBytes(weights);
    }
    initializers.push(tensor);
  }

  const Q = QUANT_NAMES;
  const axis0 = [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }];
  const toFloat = [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT }];
  const outputShape = [...inputShape, outputDim];
  const valueInfo: onnxProto.onnx.IValueInfoProto[] = [];
  // PyTorch's max_norm in an exported model (a fixed table): each gathered row over the norm is
  // rescaled by max_norm / (norm + 1e-7) in the graph, which is what the layer's lookup returns.
  // Backend tables (`table: 'input'`) are renormalized by core before each lookup instead.
  const renorm = config.maxNorm !== null && table === 'initializer';
  const nodes: onnxProto.onnx.INodeProto[] = [
    {
      name: 'gather',
      opType: 'Gather',
      domain: '',
      input: [N.embeddings, N.indices],
      output: [storage === 'float32' && !renorm ? N.output : Q.gathered],
      attribute: axis0,
    },
  ];
  if (renorm) {
    renormNodes(config.maxNorm!, config.normType, Q.gathered, N.output, [...inputShape, outputDim], nodes, initializers, valueInfo);
  }
  if (storage === 'float16') {
    nodes.push({ name: 'cast', opType: 'Cast', domain: '', input: [Q.gathered], output: [N.output], attribute: toFloat });
    valueInfo.push({ name: Q.gathered, type: tensorType(DataType.FLOAT16, outputShape) });
  } else if (storage === 'int4') {
    nodes.push(...int4Nodes(outputDim, inputShape, initializers, valueInfo));
  } else if (storage === 'int8') {
    initializers.push({ name: Q.scaleAxes, dataType: DataType.INT64, dims: [1], rawData: new Uint8Array(8).fill(0xff) }); // int64 -1 (all bytes 0xff in any byte order)
    nodes.push(
      { name: 'cast', opType: 'Cast', domain: '', input: [Q.gathered], output: [Q.gatheredFloat], attribute: toFloat },
      { name: 'gather_scales', opType: 'Gather', domain: '', input: [N.scales, N.indices], output: [Q.gatheredScales], attribute: axis0 },
      { name: 'unsqueeze_scales', opType: 'Unsqueeze', domain: '', input: [Q.gatheredScales, Q.scaleAxes], output: [Q.rowScales] },
      { name: 'dequantize', opType: 'Div', domain: '', input: [Q.gatheredFloat, Q.rowScales], output: [N.output] },
    );
    valueInfo.push(
      { name: Q.gathered, type: tensorType(DataType.INT8, outputShape) },
      { name: Q.gatheredFloat, type: tensorType(DataType.FLOAT, outputShape) },
      { name: Q.gatheredScales, type: tensorType(DataType.FLOAT, inputShape) },
      { name: Q.rowScales, type: tensorType(DataType.FLOAT, [...inputShape, 1]) },
    );
  }
  const outputs: onnxProto.onnx.IValueInfoProto[] = [
    { name: N.output, type: tensorType(DataType.FLOAT, outputShape), docString: 'Embeddings, [...indices.shape, output_dim].' },
  ];
  if (config.maskZero) {
    initializers.push({
      name: N.zero,
      dataType: indexElem,
      dims: [],
      rawData: new Uint8Array(indexType === 'int32' ? 4 : 8),
    });
    nodes.push(
      { name: 'mask_equal', opType: 'Equal', domain: '', input: [N.indices, N.zero], output: [N.isPadding] },
      { name: 'mask_not', opType: 'Not', domain: '', input: [N.isPadding], output: [N.mask] },
    );
    valueInfo.push({ name: N.isPadding, type: tensorType(DataType.BOOL, inputShape) });
    outputs.push({ name: N.mask, type: tensorType(DataType.BOOL, inputShape), docString: 'Keras compute_mask: indices != 0.' });
  }

  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET_VERSION }],
    producerName: '@embedding-layer/adapter-onnx',
    domain: 'embedding-layer',
    modelVersion: 1,
    docString: `Keras Embedding(input_dim=${inputDim}, output_dim=${outputDim}, mask_zero=${config.maskZero ? 'True' : 'False'})`,
    metadataProps: [{ key: 'keras_config', value: JSON.stringify({ class_name: 'Embedding', config: toKerasConfig(config) }) }],
    graph: {
      name: config.name,
      node: nodes,
      initializer: initializers,
      input: inputs,
      output: outputs,
      valueInfo,
    },
  });
  return ownBytes(onnx.ModelProto.encode(model).finish());
}
