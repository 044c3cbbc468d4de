import { MAX_FILENAME_BYTES, normalizeFilename } from './filename.js';

describe('normalizeFilename', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['/etc/shadow', 'shadow'],
    ['C:\\Users\\me\\secret.txt', 'secret.txt'],
    ['a\u0000b\r\nc.txt', 'abc.txt'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['\u2066hidden\u2069.txt', 'hidden.txt'],
    ['..', 'upload'],
    ['', 'upload'],
    [undefined, 'upload'],
    ['  spaced.txt  ', 'spaced.txt'],
  ])('%j becomes %j', (raw, expected) => {
    expect(normalizeFilename(raw)).toBe(expected);
  });

  it('keeps Chinese, emoji and composed characters, in NFC', () => {
    expect(normalizeFilename('报告 👩‍👩‍👧 e\u0301.txt')).toBe('报告 👩‍👩‍👧 \u00e9.txt');
  });

  it('caps the length in UTF-8 bytes without splitting a character or an emoji sequence', () => {
    const capped = normalizeFilename('😀'.repeat(1000));
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(capped).toBe('😀'.repeat(Math.floor(MAX_FILENAME_BYTES / 4)));
    expect(normalizeFilename('x'.repeat(10_000))).toHaveLength(MAX_FILENAME_BYTES);
  });
});
