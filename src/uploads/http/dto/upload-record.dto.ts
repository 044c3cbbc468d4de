import { ApiProperty, ApiPropertyOptional } from '../openapi.js';
import { UPLOAD_STATUSES, type UploadRecord, type UploadStatus } from '../../../domain/upload-record.js';

export class UploadFailureDto {
  @ApiProperty({ example: 'PERMISSION_DENIED' })
  code!: string;

  @ApiProperty({ example: 'store 0190…: permission denied' })
  message!: string;
}

export class UploadRecordDto {
  @ApiProperty({ description: 'Time-ordered id (UUIDv7)', example: '01939a4e-7f1c-7b3a-9c1d-2f4e5a6b7c8d' })
  id!: string;

  @ApiProperty({ enum: UPLOAD_STATUSES, example: 'received' })
  status!: UploadStatus;

  @ApiProperty({ description: 'Client filename, normalized; metadata only', example: 'report.pdf' })
  filename!: string;

  @ApiProperty({ description: 'Judged from the leading bytes when they are recognisable', example: 'application/pdf' })
  mimeType!: string;

  @ApiProperty({ example: 52817 })
  size!: number;

  @ApiProperty({ description: 'Hex SHA-256 of the bytes, computed while they streamed in' })
  sha256!: string;

  @ApiProperty({ format: 'date-time' })
  receivedAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;

  @ApiPropertyOptional({ format: 'date-time' })
  storedAt?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  failedAt?: string;

  @ApiProperty({ description: 'Storage attempts started so far' })
  attempts!: number;

  @ApiPropertyOptional({ type: UploadFailureDto })
  error?: UploadFailureDto;

  @ApiPropertyOptional({ description: 'Resumable upload still receiving: bytes received so far' })
  offset?: number;

  @ApiPropertyOptional({ description: 'Resumable upload: its declared total size (absent while deferred)' })
  length?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'Resumable upload still receiving: when it expires' })
  expiresAt?: string;

  static from(record: UploadRecord): UploadRecordDto {
    const { idempotencyKey: _key, requestId: _request, resumable: _protocol, ...visible } = record;
    return Object.assign(new UploadRecordDto(), visible);
  }
}
