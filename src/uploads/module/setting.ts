import parseBytes from 'bytes-iec';
import ms from 'ms';

/**
 * One setting of the uploads module or the standalone app: its kind, default and range, in one
 * place that both `forRoot` options and the environment are checked against.
 */
export type Setting =
  | { kind: 'integer' | 'bytes' | 'duration'; default: number; min: number; max?: number; env?: string }
  | { kind: 'enum'; default: string; values: readonly string[]; env?: string }
  | { kind: 'boolean'; default: boolean; env?: string }
  | { kind: 'string'; default: string | undefined; pattern?: RegExp; expected?: string; secret?: boolean; env?: string }
  | { kind: 'list'; default: readonly string[]; pattern: RegExp; expected: string; secret?: boolean; env?: string };

/** The value a setting holds once checked. */
export type ValueOf<S> = S extends { kind: 'integer' | 'bytes' | 'duration' }
  ? number
  : S extends { kind: 'boolean' }
    ? boolean
    : S extends { kind: 'enum'; values: readonly (infer V)[] }
      ? V
      : S extends { kind: 'list' }
        ? string[]
        : S extends { default: string }
          ? string
          : string | undefined;

/** A value a setting rejects, with what it expected: the caller names the setting. */
export class SettingValueError extends Error {}

const BYTES = /^\s*-?\d+(\.\d+)?\s*([kmgt]i?b|b)?\s*$/i;

/** What a number-like setting takes, in words, for messages. */
function kindOf(setting: { kind: string }): string {
  return setting.kind === 'integer'
    ? 'an integer'
    : setting.kind === 'bytes'
      ? 'a whole number of bytes'
      : 'a whole number of milliseconds';
}

/** Checks a value given in code (a `forRoot` option): numbers as numbers, no units. */
export function checkValue(setting: Setting, value: unknown): unknown {
  switch (setting.kind) {
    case 'integer':
    case 'bytes':
    case 'duration':
      if (typeof value !== 'number' || !Number.isSafeInteger(value))
        throw new SettingValueError(`must be ${kindOf(setting)} (got ${String(value)})`);
      if (value < setting.min) throw new SettingValueError(`must not be less than ${setting.min} (got ${value})`);
      if (setting.max !== undefined && value > setting.max)
        throw new SettingValueError(`must not be greater than ${setting.max} (got ${value})`);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !setting.values.includes(value)) {
        throw new SettingValueError(`must be one of the following values: ${setting.values.join(', ')} (got ${JSON.stringify(value)})`);
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw new SettingValueError(`must be true or false (got ${String(value)})`);
      return value;
    case 'string':
      if (value === undefined && setting.default === undefined) return undefined;
      if (typeof value !== 'string' || value.trim() === '' || (setting.pattern && !setting.pattern.test(value))) {
        throw new SettingValueError(`must be ${setting.expected ?? 'a non-empty string'} (got ${shown(setting, value)})`);
      }
      return value;
    case 'list': {
      const list = Array.isArray(value) && value.every((v) => typeof v === 'string') ? value.map((v: string) => v.trim()) : undefined;
      if (!list || list.some((v) => !setting.pattern.test(v))) {
        throw new SettingValueError(`must be a list of ${setting.expected} (got ${shown(setting, value)})`);
      }
      return list;
    }
  }
}

/** Parses a value from the environment (a string), with units where the setting takes a size or a duration. */
export function parseValue(setting: Setting, raw: string): unknown {
  const text = raw.trim();
  switch (setting.kind) {
    case 'integer':
      if (!/^-?\d+$/.test(text)) throw new SettingValueError(`must be an integer (got ${JSON.stringify(raw)})`);
      return checkValue(setting, Number(text));
    case 'bytes': {
      const bytes = BYTES.test(text) ? parseBytes.parse(text) : null;
      if (bytes === null || !Number.isSafeInteger(bytes)) {
        throw new SettingValueError(
          `is not a size (got ${JSON.stringify(raw)}); expected bytes, or a number with a unit: 10MB, 512KiB, 1GiB`,
        );
      }
      return checkValue(setting, bytes);
    }
    case 'duration': {
      const millis = /^-?\d+$/.test(text) ? Number(text) : /^\d+(\.\d+)?\s*[a-z]+$/i.test(text) ? ms(text as ms.StringValue) : undefined;
      if (millis === undefined || !Number.isSafeInteger(millis)) {
        throw new SettingValueError(
          `is not a duration (got ${JSON.stringify(raw)}); expected milliseconds, or a number with a unit: 500ms, 30s, 5m, 24h`,
        );
      }
      return checkValue(setting, millis);
    }
    case 'boolean':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      throw new SettingValueError(`must be true or false (got ${JSON.stringify(raw)})`);
    case 'enum':
    case 'string':
      return checkValue(setting, text);
    case 'list': {
      const list = text
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      if (list.some((v) => !setting.pattern.test(v))) {
        throw new SettingValueError(`must be a comma-separated list of ${setting.expected} (got ${shown(setting, raw)})`);
      }
      return list;
    }
  }
}

/** A value as a message may show it: never a secret. */
export function shown(setting: Setting, value: unknown): string {
  if ('secret' in setting && setting.secret) return `a value of ${String(value).length} characters, not shown`;
  return JSON.stringify(value);
}
