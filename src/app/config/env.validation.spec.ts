import { validateEnv } from './env.validation.js';

describe('validateEnv', () => {
  it('fills every default from an empty environment', () => {
    expect(validateEnv({})).toMatchObject({ PORT: 3000, UPLOAD_DIR: './uploads', MAX_FILE_SIZE: 1024 ** 3, DURABILITY: 'fsync', ALLOWED_MIME_TYPES: '' });
  });

  it('converts strings from the environment', () => {
    expect(validateEnv({ PORT: '8080', LOG_PRETTY: 'true', ALLOWED_MIME_TYPES: 'image/png, image/*' })).toMatchObject({
      PORT: 8080,
      LOG_PRETTY: true,
      ALLOWED_MIME_TYPES: 'image/png, image/*',
    });
  });

  it.each([
    [{ PORT: 'abc' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must not be greater than 65535/],
    [{ MAX_FILE_SIZE: '-1' }, /MAX_FILE_SIZE must not be less than 0/],
    [{ DURABILITY: 'sometimes' }, /DURABILITY must be one of the following values: fsync, none/],
    [{ ALLOWED_MIME_TYPES: 'png' }, /ALLOWED_MIME_TYPES must be a comma-separated list/],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => validateEnv(env)).toThrow(message);
  });
});
