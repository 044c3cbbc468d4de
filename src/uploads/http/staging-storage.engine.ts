import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import type { StagingArea, StagedFile } from '../../storage/staging-area.js';
import type { ResolvedUploadsOptions } from '../uploads.options.js';

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
    /** Told of a rejection as soon as it happens, so the response need not wait for the body to end. */
    private readonly onReject: (req: Request, err: unknown) => void,
  ) {}

  _handleFile(req: Request, file: Express.Multer.File, callback: (error?: unknown, info?: Partial<StagedMulterFile>) => void): void {
    this.staging
      .receive(file.stream, {
        declaredMimeType: file.mimetype,
        maxBytes: this.options.maxFileSize,
        allowedMimeTypes: this.options.allowedMimeTypes,
        slowClient: this.options.slowClient,
      })
      .then(
        (staged) => callback(null, { staged, size: staged.size }),
        (err: unknown) => {
          this.onReject(req, err);
          callback(err);
        },
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
