/**
 * The ONNX IR version written into every model: 7, the IR of ONNX 1.8, the release that
 * introduced opset 13. Pairing the opset with the IR of the release that defined it keeps the
 * model inside ONNX's own version table, so every checker and runtime that knows opset 13
 * (ONNX >= 1.8, ONNX Runtime >= 1.6, including onnxruntime-node 1.20 ... 1.30 and
 * onnxruntime-web) loads it. Nothing the model uses needs a later IR: initializers outside the
 * graph inputs (IR >= 4) and external data (IR >= 4) are both older.
 */
export const ONNX_IR_VERSION = 7;

/**
 * The default-domain opset the model imports: 13. It is the opset in which the operators used
 * here got the definitions still current today: `Gather` (v13, the latest version), `Equal`
 * (v13; v19 only adds string inputs) and `Not` (v1). A later opset would change nothing in the
 * graph and would shut out older runtimes; an earlier one would select older operator
 * versions (Gather-11, Equal-11) for no gain.
 */
export const ONNX_OPSET_VERSION = 13;

/**
 * The largest protobuf message: 2^31 - 1 bytes (protobuf's own limit, which ONNX Runtime and the
 * `onnx` Python package both enforce). A model whose table is bigger cannot be one file.
 */
export const PROTOBUF_LIMIT_BYTES = 2 ** 31 - 1;

/**
 * Default table size above which {@link buildEmbeddingModel} stores the table as ONNX external
 * data: the protobuf limit minus 1 MiB of headroom for the graph, names and metadata.
 */
export const DEFAULT_EXTERNAL_DATA_THRESHOLD = PROTOBUF_LIMIT_BYTES - 2 ** 20;
