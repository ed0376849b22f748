import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';

/** Largest single write: Node refuses writes over 2 GiB - 1 bytes. */
const CHUNK = 2 ** 30;

/**
 * Writes `data` to `path` atomically: to a temporary file beside it (same directory, so the
 * rename cannot cross file systems), flushed with fsync, then renamed over `path`. Readers see
 * either the old file or the complete new one, never a partial file. On failure the temporary
 * file is removed and `path` is untouched.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const file = await open(temp, 'wx');
  try {
    try {
      for (let offset = 0; offset < data.byteLength; ) {
        const { bytesWritten } = await file.write(data, offset, Math.min(CHUNK, data.byteLength - offset));
        offset += bytesWritten;
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
