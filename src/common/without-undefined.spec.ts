import { withoutUndefined } from './without-undefined.js';

describe('withoutUndefined', () => {
  it('drops the fields set to undefined and keeps every other value, falsy ones included', () => {
    const copy = withoutUndefined({ a: 1, b: undefined, c: null, d: 0, e: '', f: false, g: { h: undefined } });
    expect(Object.keys(copy)).toEqual(['a', 'c', 'd', 'e', 'f', 'g']);
    expect(copy).toStrictEqual({ a: 1, c: null, d: 0, e: '', f: false, g: { h: undefined } });
  });

  it('returns a copy: the object given is left as it was', () => {
    const original = { a: 1, b: undefined };
    const copy = withoutUndefined(original);
    expect(copy).not.toBe(original);
    expect(Object.keys(original)).toEqual(['a', 'b']);
  });
});
