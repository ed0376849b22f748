import { extname } from 'node:path';
import { badFile } from './errors.js';
import { MODEL_FORMATS, type ModelFormat } from './types.js';
import { fileSize, readRange } from './util/fs.js';

const EXTENSIONS: Readonly<Record<string, ModelFormat>> = {
  '.h5': 'keras-h5',
  '.hdf5': 'keras-h5',
  '.keras': 'keras',
  '.json': 'tfjs',
  '.onnx': 'onnx',
  '.npy': 'npy',
  '.safetensors': 'safetensors',
};

/** The format a path's extension names (`.h5`/`.hdf5`, `.keras`, `.json`, `.onnx`, `.npy`, `.safetensors`), or undefined. */
export function formatFromExtension(path: string): ModelFormat | undefined {
  return EXTENSIONS[extname(path).toLowerCase()];
}

/** The format to write `path` in: `format` when given, else the extension's; a BadFileError for an unknown extension. */
export function formatForWriting(path: string, format?: ModelFormat): ModelFormat {
  if (format !== undefined) {
    if (!MODEL_FORMATS.includes(format))
      throw badFile(path, `unknown format ${JSON.stringify(format)}; known formats: ${MODEL_FORMATS.join(', ')}.`);
    return format;
  }
  const found = formatFromExtension(path);
  if (!found)
    throw badFile(
      path,
      `cannot tell the format from the extension ${JSON.stringify(extname(path))}; use one of ${Object.keys(EXTENSIONS).join(', ')} or pass a format.`,
    );
  return found;
}

/**
 * Detects a file's format from its first bytes (HDF5 signature, zip, NumPy magic, safetensors
 * header, JSON), falling back to the extension for ONNX (protobuf has no magic). A file that is
 * none of them is a BadFileError listing what was expected.
 */
export async function detectFormat(path: string): Promise<ModelFormat> {
  const size = await fileSize(path);
  const head = await readRange(path, 0, Math.min(size, 16));
  const byExtension = formatFromExtension(path);
  const starts = (bytes: readonly number[]) => bytes.every((b, i) => head[i] === b);
  if (starts([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])) return 'keras-h5';
  if (starts([0x50, 0x4b, 0x03, 0x04])) return 'keras';
  if (starts([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) return 'npy';
  if (head.length >= 9 && head[8] === 0x7b && byExtension !== 'onnx') {
    const headerSize = new DataView(head.buffer, head.byteOffset).getBigUint64(0, true);
    if (headerSize > 0n && headerSize <= BigInt(size - 8)) return 'safetensors';
  }
  const firstChar = head.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf);
  if (firstChar === 0x7b && byExtension !== 'onnx') return 'tfjs';
  if (size === 0) throw badFile(path, 'the file is empty.');
  // A known extension with the wrong content: let that format's reader say what is wrong.
  if (byExtension) return byExtension;
  throw badFile(
    path,
    `unknown file format: expected an HDF5 (.h5), Keras 3 zip (.keras), TF.js model.json, .onnx, .npy or safetensors file.`,
  );
}
