/** Longest stored filename in UTF-8 bytes: what common filesystems allow for one name. */
export const MAX_FILENAME_BYTES = 255;

// C0/C1 controls, DEL, and the bidi embedding/override/isolate marks that can disguise an extension.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const encoder = new TextEncoder();

/**
 * Turns a client's filename into safe metadata: NFC, no control or bidi-override characters, no
 * directory part, at most {@link MAX_FILENAME_BYTES} bytes cut at a grapheme boundary.
 * The result is never used as a path; these rules keep it honest when shown or downloaded.
 */
export function normalizeFilename(raw: string | undefined, fallback = 'upload'): string {
  let name = (raw ?? '').normalize('NFC').replace(UNSAFE, '');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1).trim();
  if (name === '' || name === '.' || name === '..') return fallback;
  if (encoder.encode(name).length <= MAX_FILENAME_BYTES) return name;
  let kept = '';
  let bytes = 0;
  for (const { segment } of segmenter.segment(name)) {
    bytes += encoder.encode(segment).length;
    if (bytes > MAX_FILENAME_BYTES) break;
    kept += segment;
  }
  return kept;
}
