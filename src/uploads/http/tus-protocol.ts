/** What this server speaks of tus (https://tus.io/protocols/resumable-upload): answered by OPTIONS, described in the document. */
export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'checksum',
  'expiration',
  'concatenation',
] as const;
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const;
/** The only body type a chunk may have. */
export const OFFSET_STREAM = 'application/offset+octet-stream';
