import { ApiPropertyOptional } from '../openapi.js';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { UPLOAD_STATUSES, type UploadStatus } from '../../../domain/upload-record.js';

export class ListUploadsQueryDto {
  @ApiPropertyOptional({ enum: UPLOAD_STATUSES })
  @IsOptional()
  @IsIn(UPLOAD_STATUSES)
  status?: UploadStatus;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: '`nextCursor` of the previous page' })
  @IsOptional()
  @IsUUID('7')
  cursor?: string;
}
