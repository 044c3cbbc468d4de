/** Longest stored filename in UTF-8 bytes: what common filesystems allow for one name. */
export const MAX_FILENAME_BYTES = 255;

/** Longest extension kept when a name is cut; longer "extensions" are just part of the name. */
const MAX_EXTENSION_BYTES = 32;
const ELLIPSIS = '…';

// C0/C1 controls, DEL, and the bidi embedding/override/isolate marks that can disguise an extension.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const encoder = new TextEncoder();
const bytesOf = (text: string) => encoder.encode(text).length;

/**
 * Turns a client's filename into safe metadata: NFC, no control or bidi-override characters, no
 * directory part, at most {@link MAX_FILENAME_BYTES} bytes. A longer name is cut at a grapheme
 * boundary before its extension, which it keeps (`very-long-….pdf`). The result is never used as a
 * path; these rules keep it honest when shown or downloaded.
 */
export function normalizeFilename(raw: string | undefined, fallback = 'upload'): string {
  let name = (raw ?? '').normalize('NFC').replace(UNSAFE, '');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1).trim();
  if (name === '' || name === '.' || name === '..') return fallback;
  if (bytesOf(name) <= MAX_FILENAME_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && bytesOf(name.slice(dot)) <= MAX_EXTENSION_BYTES ? name.slice(dot) : '';
  return cut(name.slice(0, name.length - extension.length), MAX_FILENAME_BYTES - bytesOf(ELLIPSIS + extension)) + ELLIPSIS + extension;
}

/** The longest run of whole graphemes from the start of `text` that fits in `budget` bytes. */
function cut(text: string, budget: number): string {
  let kept = '';
  let bytes = 0;
  for (const { segment } of segmenter.segment(text)) {
    bytes += bytesOf(segment);
    if (bytes > budget) break;
    kept += segment;
  }
  return kept;
}

/**
 * An ASCII stand-in for a name, for clients that ignore RFC 6266's `filename*` (`curl -OJ`):
 * accents dropped (`Café` → `Cafe`), anything else outside printable ASCII replaced by `_`.
 */
export function asciiFilename(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '_')
    .replace(/["\\]/g, '_');
}
