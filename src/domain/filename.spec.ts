import { asciiFilename, MAX_FILENAME_BYTES, normalizeFilename } from './filename.js';

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
    expect(capped).toBe('😀'.repeat(Math.floor((MAX_FILENAME_BYTES - 3) / 4)) + '…');
    expect(Buffer.byteLength(normalizeFilename('x'.repeat(10_000)))).toBe(MAX_FILENAME_BYTES);
  });

  it('keeps the extension of a name it cuts, marking the cut', () => {
    const cut = normalizeFilename(`${'very-long-'.repeat(40)}.pdf`);
    expect(cut).toMatch(/^very-long-very-long-.*…\.pdf$/);
    expect(Buffer.byteLength(cut)).toBe(MAX_FILENAME_BYTES);
    const accented = normalizeFilename(`${'é'.repeat(300)}.tar.gz`);
    expect(accented.endsWith('….gz')).toBe(true);
    expect(Buffer.byteLength(accented)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
  });
});

describe('asciiFilename', () => {
  it.each([
    ['Café.txt', 'Cafe.txt'],
    ['naïve résumé.pdf', 'naive resume.pdf'],
    ['报告.txt', '__.txt'],
    ['say "hi".txt', 'say _hi_.txt'],
  ])('%j becomes %j', (name, expected) => {
    expect(asciiFilename(name)).toBe(expected);
  });
});
