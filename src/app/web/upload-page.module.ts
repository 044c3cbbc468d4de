import { Module } from '@nestjs/common';
import { UploadPageController } from './upload-page.controller.js';

/** The standalone service's upload page at `/` (files in `public/`). */
@Module({ controllers: [UploadPageController] })
export class UploadPageModule {}
