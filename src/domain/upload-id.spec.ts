import { newUploadId, uploadIdFloor } from './upload-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newUploadId', () => {
  it('makes distinct UUIDv7s that sort in the order they were made, also within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newUploadId());
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('puts an id after the floor of the millisecond it was made in, and before the next one', () => {
    const before = Date.now();
    const id = newUploadId();
    expect(id >= uploadIdFloor(before)).toBe(true);
    expect(id < uploadIdFloor(Date.now() + 1)).toBe(true);
  });

  it('takes fresh random bits for every id', () => {
    const tails = new Set<string>();
    for (let i = 0; i < 5_000; i++) tails.add(newUploadId().slice(-12));
    expect(tails.size).toBe(5_000);
  });
});
