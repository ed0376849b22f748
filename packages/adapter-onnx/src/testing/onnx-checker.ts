// Test helper: the rules of ONNX's own checker (onnx/checker.cc: check_model, check_graph,
// check_value_info, check_tensor, check_node) that apply to this package's graphs, plus the
// shape/type inference of the operators used (Gather, Equal, Not; Cast, Unsqueeze, Div for quantized storage), re-stated in TypeScript because the
// Python `onnx` package is not available here. Not part of the public API.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

const ELEMENT_BYTES: Record<number, number> = { [T.FLOAT]: 4, [T.INT32]: 4, [T.INT64]: 8, [T.BOOL]: 1, [T.FLOAT16]: 2, [T.INT8]: 1 };

/** Operator schemas at opset 13 for the operators the builder uses: input/output counts and attributes. */
const SCHEMAS: Record<string, { inputs: number; outputs: number; attributes: Record<string, number> }> = {
  Gather: { inputs: 2, outputs: 1, attributes: { axis: onnx.AttributeProto.AttributeType.INT } },
  Equal: { inputs: 2, outputs: 1, attributes: {} },
  Not: { inputs: 1, outputs: 1, attributes: {} },
  // The quantized-storage graphs (float16: Cast; int8: Cast, Unsqueeze, Div).
  Cast: { inputs: 1, outputs: 1, attributes: { to: onnx.AttributeProto.AttributeType.INT } },
  Unsqueeze: { inputs: 2, outputs: 1, attributes: {} },
  Div: { inputs: 2, outputs: 1, attributes: {} },
};

/** Numpy broadcasting of two shapes (symbolic dimensions must match by name or meet a 1). */
function broadcast(a: Dim[], b: Dim[], fail: (rule: string) => never): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else fail(`Div: shapes ${JSON.stringify(a)} and ${JSON.stringify(b)} do not broadcast`);
  }
  return out;
}

type Dim = number | string;
interface ValueType {
  elem: number;
  shape: Dim[];
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v as { toString(): string });
}

function dims(t: onnxProto.onnx.ITypeProto): ValueType {
  const tt = t.tensorType!;
  return { elem: tt.elemType!, shape: (tt.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : num(d.dimValue))) };
}

/** The decoded graph, typed as protobufjs decodes it (repeated fields are arrays, never null). */
export function graphOf(model: onnxProto.onnx.ModelProto): onnxProto.onnx.GraphProto {
  return model.graph as onnxProto.onnx.GraphProto;
}

/** Decodes model bytes. */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/**
 * Applies the checker rules; throws an Error naming the first violated rule. Returns the
 * inferred type of every graph output (from the operators' inference functions), so a test
 * can compare it with the declared one.
 */
export function checkModel(
  model: onnxProto.onnx.ModelProto,
  options: { externalFiles?: ReadonlySet<string> } = {},
): Map<string, ValueType> {
  const fail = (rule: string): never => {
    throw new Error(`ONNX checker: ${rule}`);
  };
  if (!num(model.irVersion)) fail('the model does not have an ir_version set properly');
  if (num(model.irVersion) > onnx.Version.IR_VERSION) fail("model ir_version is higher than the checker's");
  const keys = new Set<string>();
  for (const p of model.metadataProps) {
    if (keys.has(p.key!)) fail('duplicate keys in metadata_props');
    keys.add(p.key!);
  }
  const opsets = new Map(model.opsetImport.map((o) => [o.domain ?? '', num(o.version)]));
  if (opsets.size === 0) fail('model with IR version >= 3 must specify opset_import for ONNX');
  if (!model.graph) return fail('model has no graph');
  const g = graphOf(model);
  if (!g.name) fail("Field 'name' of graph is required to be non-empty");

  const known = new Map<string, ValueType>();
  const constants = new Map<string, onnxProto.onnx.TensorProto>();
  const checkValueInfo = (v: onnxProto.onnx.IValueInfoProto) => {
    if (!v.name) fail("Field 'name' of value_info is required to be non-empty");
    if (!v.type) fail(`Field 'type' of value_info ${v.name} is required but missing`);
    const tt = v.type!.tensorType;
    if (!tt) fail(`value_info ${v.name} is not a tensor`);
    if (!tt!.elemType) fail(`Field 'elem_type' of ${v.name} is required but missing`);
    if (!tt!.shape) fail(`Field 'shape' of ${v.name} is required but missing`);
  };
  for (const v of g.input) {
    checkValueInfo(v);
    if (known.has(v.name!)) fail(`SSA: '${v.name}' used as graph input name multiple times`);
    known.set(v.name!, dims(v.type!));
  }
  for (const v of g.output) checkValueInfo(v);

  for (const t of g.initializer as onnxProto.onnx.TensorProto[]) {
    if (!t.dataType) fail(`tensor ${t.name}: data_type is required and must not be UNDEFINED`);
    const fields =
      [t.floatData, t.int32Data, t.stringData, t.int64Data, t.doubleData, t.uint64Data].filter((f) => f.length > 0).length +
      (t.rawData && t.rawData.length > 0 ? 1 : 0);
    const nelem = t.dims.reduce((a: number, d) => a * num(d), 1);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      if (fields !== 0) fail(`tensor ${t.name} is stored externally and should not have a data field`);
      const location = t.externalData.find((e) => e.key === 'location')?.value;
      if (!location) fail(`tensor ${t.name} is stored externally but doesn't have a location`);
      if (options.externalFiles && !options.externalFiles.has(location!)) fail(`external data ${location} does not exist`);
      const length = t.externalData.find((e) => e.key === 'length')?.value;
      if (length !== undefined && Number(length) !== nelem * ELEMENT_BYTES[t.dataType!]!) fail(`tensor ${t.name}: external length`);
    } else {
      if (nelem === 0 && fields !== 0) fail(`tensor ${t.name} is 0-element but contains data`);
      if (nelem !== 0 && fields !== 1) fail(`tensor ${t.name} should contain one and only one value field`);
      if (nelem !== 0 && t.rawData && t.rawData.length !== nelem * ELEMENT_BYTES[t.dataType!]!) {
        fail(`tensor ${t.name}: raw_data has ${t.rawData.length} bytes for ${nelem} elements`);
      }
    }
    if (known.has(t.name!) && num(model.irVersion) >= 4) {
      // IR >= 4 allows an initializer that shadows an input; this builder never does it.
      fail(`initializer ${t.name} also a graph input`);
    }
    known.set(t.name!, { elem: t.dataType!, shape: t.dims.map(num) });
    constants.set(t.name!, t);
  }

  for (const v of g.valueInfo) checkValueInfo(v);
  const nodeNames = new Set<string>();
  for (const n of g.node as onnxProto.onnx.NodeProto[]) {
    if (!n.opType) fail("Field 'op_type' of node is required to be non-empty");
    if (n.name) {
      if (nodeNames.has(n.name)) fail(`duplicate node name ${n.name}`);
      nodeNames.add(n.name);
    }
    const version = opsets.get(n.domain ?? '');
    if (version === undefined) fail(`No opset import for domain '${n.domain}'`);
    const schema = SCHEMAS[n.opType!];
    if (!schema || version! < 13) fail(`No Op registered for ${n.opType} with domain_version of ${version}`);
    if (n.input.length !== schema!.inputs || n.output.length !== schema!.outputs) fail(`${n.opType}: wrong input/output count`);
    for (const a of n.attribute) {
      if (!a.name) fail("Field 'name' of attribute is required to be non-empty");
      if (schema!.attributes[a.name!] !== a.type) fail(`${n.opType}: unknown attribute ${a.name} or wrong type`);
    }
    for (const i of n.input) {
      if (i && !known.has(i))
        fail(`Nodes in a graph must be topologically sorted, however input '${i}' of ${n.name} is not output of any previous nodes`);
    }
    const ins = n.input.map((i) => known.get(i)!);
    let out: ValueType;
    if (n.opType === 'Gather') {
      const axis = num(n.attribute.find((a) => a.name === 'axis')?.i ?? 0);
      if (axis !== 0) fail('Gather axis must be 0 for an embedding');
      if (ins[1]!.elem !== T.INT32 && ins[1]!.elem !== T.INT64) fail('Gather: Tind must be int32 or int64');
      out = { elem: ins[0]!.elem, shape: [...ins[1]!.shape, ...ins[0]!.shape.slice(1)] };
    } else if (n.opType === 'Equal') {
      if (ins[0]!.elem !== ins[1]!.elem) fail('Equal: inputs must have the same type T');
      if (ins[1]!.shape.length !== 0) fail('Equal: this graph compares with a scalar');
      out = { elem: T.BOOL, shape: ins[0]!.shape };
    } else if (n.opType === 'Cast') {
      const to = num(n.attribute.find((a) => a.name === 'to')?.i ?? 0);
      if (!ELEMENT_BYTES[to]) fail('Cast: missing or unsupported "to"');
      out = { elem: to, shape: ins[0]!.shape };
    } else if (n.opType === 'Unsqueeze') {
      const axesTensor = constants.get(n.input[1]!);
      if (!axesTensor || axesTensor.dataType !== T.INT64 || !axesTensor.rawData) fail('Unsqueeze: axes must be an int64 initializer');
      const raw = axesTensor!.rawData;
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const rank = ins[0]!.shape.length + raw.byteLength / 8;
      const axes = Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true))).map((a) =>
        a < 0 ? a + rank : a,
      );
      if (axes.some((a) => a < 0 || a >= rank) || new Set(axes).size !== axes.length) fail('Unsqueeze: axes out of range or repeated');
      const shape: Dim[] = [];
      const rest = [...ins[0]!.shape];
      for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : rest.shift()!);
      out = { elem: ins[0]!.elem, shape };
    } else if (n.opType === 'Div') {
      if (ins[0]!.elem !== ins[1]!.elem) fail('Div: inputs must have the same type T');
      out = { elem: ins[0]!.elem, shape: broadcast(ins[0]!.shape, ins[1]!.shape, fail) };
    } else {
      if (ins[0]!.elem !== T.BOOL) fail('Not: input must be bool');
      out = { elem: T.BOOL, shape: ins[0]!.shape };
    }
    for (const o of n.output) {
      if (known.has(o)) fail(`SSA: '${o}' has been used as output names multiple times`);
      known.set(o, out);
    }
  }
  const inferred = new Map<string, ValueType>();
  for (const o of g.output) {
    const t = known.get(o.name!);
    if (!t) fail(`graph output ${o.name} is not produced`);
    const declared = dims(o.type!);
    if (declared.elem !== t!.elem || JSON.stringify(declared.shape) !== JSON.stringify(t!.shape)) {
      fail(`graph output ${o.name}: declared ${JSON.stringify(declared)} but inferred ${JSON.stringify(t)}`);
    }
    inferred.set(o.name!, t!);
  }
  return inferred;
}
