/**
 * The simulator's seeded random source. Every draw is a pure function of the seed and a list of parts naming what
 * is drawn and for which object (`draw("node", ns, name, attempt)`), so a run is reproducible no matter how the
 * work queue happened to batch objects, and one object's draws never shift another's.
 */

/** A uniform number in [0, 1) determined by the seed and `parts`. */
export type Draw = (...parts: readonly (string | number)[]) => number;

/** Builds the draw function for one seed. */
export function seededDraw(seed: string | number): Draw {
  const prefix = `${String(seed)}\u0000`;
  return (...parts) => hash53(prefix + parts.join("\u0000")) / 2 ** 53;
}

/** An integer in [0, n) from a draw. */
export function pick(draw: Draw, n: number, ...parts: readonly (string | number)[]): number {
  return Math.min(n - 1, Math.floor(draw(...parts) * n));
}

/** `length` lowercase hex digits from draws (container IDs, MAC bytes). */
export function hexString(draw: Draw, length: number, ...parts: readonly (string | number)[]): string {
  let out = "";
  for (let i = 0; out.length < length; i++) {
    out += Math.floor(draw(...parts, i) * 2 ** 32)
      .toString(16)
      .padStart(8, "0");
  }
  return out.slice(0, length);
}

/** The alphabet apiserver's `generateName` uses (no vowels, no confusable digits). */
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** A 5-character suffix in the style of `generateName`. */
export function nameSuffix(draw: Draw, ...parts: readonly (string | number)[]): string {
  let out = "";
  for (let i = 0; i < 5; i++) out += NAME_ALPHABET[pick(draw, NAME_ALPHABET.length, ...parts, i)] ?? "b";
  return out;
}

/**
 * A 53-bit string hash: two FNV-1a style lanes with different primes, each finished with MurmurHash3's 32-bit
 * avalanche step. Not cryptographic; it only needs to spread similar inputs (`vm-1`, `vm-2`) evenly.
 */
function hash53(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  const lo = avalanche(a ^ text.length);
  const hi = avalanche(b ^ lo);
  return (hi & 0x1fffff) * 2 ** 32 + lo;
}

function avalanche(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
