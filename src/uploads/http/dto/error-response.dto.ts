import { ApiProperty, ApiPropertyOptional } from '../openapi.js';

/** Nest's error shape, with Stowage's machine-readable `code` where one applies. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: 'Expected a multipart/form-data body with one file in the field "file"',
  })
  message!: string | string[];

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiPropertyOptional({
    example: 'INVALID_UPLOAD',
    description: 'Stable and machine-readable; absent on validation errors of the query or form fields',
  })
  code?: string;
}
