import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import { DisallowedFileTypeError } from '../domain/errors/disallowed-file-type.error.js';

/** Bytes file-type needs to recognise every format it knows. */
export const SNIFF_BYTES = 4100;

const DEFAULT_TYPE = 'application/octet-stream';
const TOKEN = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

function matches(type: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => a === type || (a.endsWith('/*') && type.startsWith(a.slice(0, -1))));
}

/**
 * Whether a declared type may be uploaded at all, before any byte is known (a resumable upload is
 * refused at creation when it is not); the leading bytes are judged later by `resolveContentType`.
 */
export function declaredTypeAllowed(declared: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const type = declared?.split(';')[0]?.trim().toLowerCase() ?? '';
  return matches(TOKEN.test(type) ? type : DEFAULT_TYPE, allowed);
}

/**
 * Decides an upload's MIME type from its leading bytes and the type the client declared.
 * Bytes win when they are recognisable. With an allow-list, both must pass, and a declared type
 * that has a signature (PNG, PDF...) must be backed by that signature.
 */
export async function resolveContentType(head: Uint8Array, declared: string | undefined, allowed: readonly string[]): Promise<string> {
  const declaredType = declared?.split(';')[0]?.trim().toLowerCase() ?? '';
  const claimed = TOKEN.test(declaredType) ? declaredType : DEFAULT_TYPE;
  const detected = (await fileTypeFromBuffer(head))?.mime;
  const effective = detected ?? claimed;
  if (allowed.length === 0) return effective;

  if (!matches(claimed, allowed)) {
    throw new DisallowedFileTypeError(`Declared type ${claimed} is not allowed (allowed: ${allowed.join(', ')})`);
  }
  if (detected === undefined && supportedMimeTypes.has(claimed)) {
    throw new DisallowedFileTypeError(`Content does not look like the declared type ${claimed}`);
  }
  if (!matches(effective, allowed)) {
    throw new DisallowedFileTypeError(`Content is ${effective}, which is not allowed (allowed: ${allowed.join(', ')})`);
  }
  return effective;
}
