import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { APP_SETTINGS } from './app/config/environment.js';
import { STORAGE_ERROR_CODES, UPLOAD_ERROR_STATUS } from './domain/errors/error-codes.js';
import { FileFailedEvent } from './domain/events/file-failed.event.js';
import { FileReceivedEvent } from './domain/events/file-received.event.js';
import { FileStoredEvent } from './domain/events/file-stored.event.js';
import { payloadOf } from './domain/events/upload-event.js';
import type { UploadRecord } from './domain/upload-record.js';
import type { Setting } from './uploads/module/setting.js';
import { UPLOADS_SETTINGS } from './uploads/module/uploads.settings.js';

const doc = (path: string) => readFile(fileURLToPath(new URL(`../${path}`, import.meta.url)), 'utf8');

/** The rows of the markdown table whose header row starts with `header`, as arrays of cells. */
function table(markdown: string, header: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${header} |`));
  if (start < 0) throw new Error(`no table headed "${header}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

/** The first `code` span of a cell, or its first word: how a default is written. */
const shownDefault = (cell: string) => /`([^`]*)`/.exec(cell)?.[1] ?? cell.split(' ')[0];

/** How the docs write a setting's default. */
function defaultOf(setting: Setting): string {
  if (setting.kind === 'list') return setting.default.length === 0 ? 'empty' : setting.default.join(',');
  if (setting.default === undefined) return 'none';
  return String(setting.default);
}

describe('the docs, kept equal to the code', () => {
  it('README lists every environment variable with its default', async () => {
    const rows = table(await doc('README.md'), 'Variable');
    const documented = Object.fromEntries(rows.map(([name, dflt]) => [shownDefault(name), shownDefault(dflt)]));
    const settings: Record<string, Setting> = { ...APP_SETTINGS };
    for (const setting of Object.values(UPLOADS_SETTINGS) as Setting[]) if (setting.env) settings[setting.env] = setting;
    expect(documented).toEqual(Object.fromEntries(Object.entries(settings).map(([name, s]) => [name, defaultOf(s)])));
  });

  it('EMBEDDING lists every module option with its default and variable', async () => {
    const rows = table(await doc('docs/EMBEDDING.md'), 'option');
    const documented = Object.fromEntries(
      rows.map(([option, dflt, env]) => [shownDefault(option), [shownDefault(dflt), shownDefault(env)]]),
    );
    const extras = new Set(['transport', 'role']);
    const expected = Object.entries(UPLOADS_SETTINGS as Record<string, Setting>)
      .filter(([path]) => !extras.has(path))
      .map(([path, s]) => [path, [defaultOf(s), s.env ?? '–']]);
    expect(documented).toMatchObject(Object.fromEntries(expected));
  });

  it('README lists every error code with its HTTP status', async () => {
    const rows = table(await doc('README.md'), 'Status');
    expect(rows.map(([status, code]) => [Number(status), shownDefault(code)]).sort()).toEqual(
      Object.entries(UPLOAD_ERROR_STATUS)
        .map(([code, status]) => [status, code])
        .sort(),
    );
  });

  it('README lists every storage error code, transient or not', async () => {
    const rows = table(await doc('README.md'), 'Code');
    expect(Object.fromEntries(rows.map(([code, transient]) => [shownDefault(code), transient.startsWith('yes')]))).toEqual(
      Object.fromEntries(Object.entries(STORAGE_ERROR_CODES).map(([code, { transient }]) => [code, transient])),
    );
  });

  it('README and EMBEDDING give each event the payload it carries', async () => {
    const record: UploadRecord = {
      id: 'u',
      status: 'stored',
      filename: 'f',
      mimeType: 'm',
      size: 1,
      sha256: 's',
      receivedAt: 'r',
      updatedAt: 'u',
      storedAt: 's',
      failedAt: 'f',
      attempts: 1,
      error: { code: 'IO_ERROR', message: 'm' },
      requestId: 'q',
    };
    const payloads: Record<string, string[]> = {
      'file.received': Object.keys(payloadOf(FileReceivedEvent.fromRecord(record, { retry: true }))),
      'file.stored': Object.keys(payloadOf(FileStoredEvent.fromRecord(record))),
      'file.failed': Object.keys(payloadOf(FileFailedEvent.fromRecord(record))),
    };
    const fields = (cell: string) =>
      cell
        .replace(/`/g, '')
        .replace(/\{[^}]*\}|:/g, '')
        .split(/[,\s]+/)
        .filter(Boolean)
        .map((f) => f.replace(/\?$/, ''))
        .sort();
    for (const [path, header] of [
      ['README.md', 'Event'],
      ['docs/EMBEDDING.md', 'event'],
    ] as const) {
      const rows = table(await doc(path), header);
      expect(Object.fromEntries(rows.map((r) => [shownDefault(r[0]), fields(r[3])]))).toEqual(
        Object.fromEntries(Object.entries(payloads).map(([name, keys]) => [name, [...keys].sort()])),
      );
    }
  });
});
