import { ApiProperty } from '../openapi.js';
import type { UploadRecord } from '../../../domain/upload-record.js';
import { UploadRecordDto } from './upload-record.dto.js';

export const UPLOAD_STARTED_MESSAGE = 'File upload started';

/** Body of the 202: the new record and a human-readable note that storage continues in the background. */
export class UploadAcceptedDto extends UploadRecordDto {
  @ApiProperty({ example: UPLOAD_STARTED_MESSAGE })
  message!: string;

  static fromRecord(record: UploadRecord): UploadAcceptedDto {
    return Object.assign(new UploadAcceptedDto(), UploadRecordDto.from(record), { message: UPLOAD_STARTED_MESSAGE });
  }
}
