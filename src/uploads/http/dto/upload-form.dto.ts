import { ApiProperty, ApiPropertyOptional } from '../openapi.js';
import { Transform } from 'class-transformer';
import { IsOptional, Matches } from 'class-validator';

/** The multipart form of `POST /uploads`; `file` is parsed by the upload interceptor, not validated here. */
export class UploadFormDto {
  @ApiProperty({ type: 'string', format: 'binary', description: 'The file, exactly one' })
  @IsOptional()
  file?: unknown;

  // An empty example keeps Swagger UI's "Try it out" from filling in "string"; it then sends the
  // field empty, as an HTML form does, and an empty field means "not given".
  @ApiPropertyOptional({ description: 'Expected SHA-256 (hex) of the file; a mismatch is rejected with 422', example: '' })
  @Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value))
  @IsOptional()
  @Matches(/^[a-fA-F0-9]{64}$/, { message: 'sha256 must be 64 hexadecimal characters' })
  sha256?: string;
}
