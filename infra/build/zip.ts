/**
 * Deterministic zip archives for Lambda deployment packages: the same files give the same bytes on every machine,
 * in every time zone, so a rebuilt package only differs when the code does (and a deploy tool comparing hashes
 * sees no change). Entries are sorted by name and carry a fixed timestamp and mode.
 */
import { writeFile } from "node:fs/promises";
import { ZipFile } from "yazl";

/** One file in an archive. */
export interface ZipEntry {
  /** Path inside the archive, `/`-separated. */
  readonly name: string;
  readonly data: Buffer;
}

/**
 * 1980-01-02 00:00 local time, built per archive: DOS timestamps are local wall-clock fields, so the same local
 * components give the same bytes in every time zone (with `forceDosTimestamp` no UTC extra field is written). A
 * day past the DOS epoch, so yazl's clamp to 1980-01-01 (taken in the zone it loaded in) never applies.
 */
function fixedMtime(): Date {
  return new Date(1980, 0, 2, 0, 0, 0);
}

/** Regular file, rw-r--r-- (what Lambda expects for code it only reads). */
const FILE_MODE = 0o100644;

/** The archive bytes for `entries`, sorted by name. */
export function zipBuffer(entries: readonly ZipEntry[]): Promise<Buffer> {
  const zip = new ZipFile();
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of sorted) {
    zip.addBuffer(entry.data, entry.name, {
      mtime: fixedMtime(),
      mode: FILE_MODE,
      forceDosTimestamp: true,
      compress: true,
    });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on("data", (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on("end", () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on("error", reject);
    zip.on("error", reject);
    zip.end();
  });
}

/** Writes the archive for `entries` to `path`; resolves its size in bytes. */
export async function writeZip(path: string, entries: readonly ZipEntry[]): Promise<number> {
  const bytes = await zipBuffer(entries);
  await writeFile(path, bytes);
  return bytes.length;
}
