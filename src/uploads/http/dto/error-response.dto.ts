import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** Nest's error shape, with Stowage's machine-readable `code` where one applies. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], example: 'Unexpected file field' })
  message!: string | string[];

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiPropertyOptional({ example: 'FILE_TOO_LARGE' })
  code?: string;
}
