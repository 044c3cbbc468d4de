import { ApiProperty } from '../openapi.js';
import { UploadRecordDto } from './upload-record.dto.js';

/** One page of `GET /uploads`: records newest first, and the cursor of the next page. */
export class UploadListDto {
  @ApiProperty({ type: [UploadRecordDto] })
  items!: UploadRecordDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next (older) page; null on the last page' })
  nextCursor!: string | null;
}
