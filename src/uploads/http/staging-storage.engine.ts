import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import type { StagingArea, StagedFile } from '../../storage/staging-area.js';
import type { ResolvedUploadsOptions } from '../module/uploads.options.js';

/** What multer's file object carries once the engine has staged it. */
export interface StagedMulterFile extends Express.Multer.File {
  staged: StagedFile;
}

/**
 * multer storage engine that streams the file part into the staging area (hash, size and type
 * judged on the way) and maps multer's file into Stowage's own `StagedFile`.
 */
export class StagingStorageEngine implements StorageEngine {
  constructor(
    private readonly staging: StagingArea,
    private readonly options: ResolvedUploadsOptions,
    /**
     * Told of each file as it starts streaming, so the caller can answer a rejection as soon as it
     * happens, and tell it apart from the generic abort multer reports for the same failure.
     */
    private readonly onReceive: (req: Request, receiving: Promise<StagedFile>) => void,
  ) {}

  _handleFile(req: Request, file: Express.Multer.File, callback: (error?: unknown, info?: Partial<StagedMulterFile>) => void): void {
    const receiving = this.staging.receive(file.stream, {
      declaredMimeType: file.mimetype,
      maxBytes: this.options.maxFileSize,
      allowedMimeTypes: this.options.allowedMimeTypes,
      slowClient: this.options.slowClient,
      sizeHint: contentLength(req),
    });
    this.onReceive(req, receiving);
    receiving.then(
      (staged) => callback(null, { staged, size: staged.size }),
      (err: unknown) => callback(err),
    );
  }

  _removeFile(_req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    const staged = (file as Partial<StagedMulterFile>).staged;
    if (!staged) return callback(null);
    this.staging.discard(staged.id).then(
      () => callback(null),
      (err: Error) => callback(err),
    );
  }
}

/** The request body's declared size: the file part's size plus a little multipart framing. */
function contentLength(req: Request): number | undefined {
  const length = Number(req.headers['content-length']);
  return Number.isSafeInteger(length) && length > 0 ? length : undefined;
}
