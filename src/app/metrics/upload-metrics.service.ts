import { Inject, Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FileFailedEvent } from '../../domain/events/file-failed.event.js';
import { FileReceivedEvent } from '../../domain/events/file-received.event.js';
import { FileStoredEvent } from '../../domain/events/file-stored.event.js';
import { TASK_TRANSPORT, type TaskTransport } from '../../tasks/task-transport.interface.js';
import { UploadAdmission } from '../../uploads/lifecycle/upload-admission.service.js';
import { UPLOAD_RECORD_REPOSITORY, type UploadRecordRepository } from '../../records/upload-record-repository.interface.js';

const MiB = 1024 ** 2;

/**
 * Prometheus metrics of the uploads, counted from the domain events so the uploads module knows
 * nothing of them. Each instance owns its registry (never prom-client's global one), so several
 * apps in one process each report only their own uploads. With the queue transport, `file.stored`
 * and `file.failed` are counted by the worker that did the storage: sum over processes.
 */
@Injectable()
export class UploadMetricsService {
  readonly registry = new Registry();

  private readonly received = new Counter({
    name: 'stowage_uploads_received_total',
    help: 'Uploads accepted (answered 202).',
    registers: [this.registry],
  });

  private readonly retried = new Counter({
    name: 'stowage_uploads_retried_total',
    help: 'Uploads handed to storage again: retries of failed uploads, repairs of vanished bytes.',
    registers: [this.registry],
  });

  private readonly stored = new Counter({
    name: 'stowage_uploads_stored_total',
    help: 'Uploads stored in their final place.',
    registers: [this.registry],
  });

  private readonly failed = new Counter({
    name: 'stowage_uploads_failed_total',
    help: 'Uploads whose storage failed for good, by error code.',
    labelNames: ['code'],
    registers: [this.registry],
  });

  private readonly receivedBytes = new Counter({
    name: 'stowage_upload_received_bytes_total',
    help: 'Bytes of accepted uploads.',
    registers: [this.registry],
  });

  private readonly size = new Histogram({
    name: 'stowage_upload_size_bytes',
    help: 'Size of accepted uploads.',
    buckets: [1024, 64 * 1024, MiB, 10 * MiB, 100 * MiB, 1024 * MiB, 10 * 1024 * MiB],
    registers: [this.registry],
  });

  private readonly storageDuration = new Histogram({
    name: 'stowage_upload_storage_duration_seconds',
    help: 'Time from acceptance (202) to stored, retries included.',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: [this.registry],
  });

  constructor(
    admission: UploadAdmission,
    @Inject(TASK_TRANSPORT) transport: TaskTransport,
    @Inject(UPLOAD_RECORD_REPOSITORY) records: UploadRecordRepository,
  ) {
    new Gauge({
      name: 'stowage_uploads_in_flight',
      help: 'Uploads whose bytes are streaming in right now, in this process.',
      registers: [this.registry],
      collect() {
        this.set(admission.uploadsInFlight);
      },
    });
    new Gauge({
      name: 'stowage_uploads_backlog',
      help: 'Accepted uploads not stored yet: queued, running or waiting for a retry.',
      registers: [this.registry],
      collect() {
        this.set(transport.backlog());
      },
    });
    new Gauge({
      name: 'stowage_uploads_receiving',
      help: 'Resumable uploads created and not finished yet (status receiving), in the record store.',
      registers: [this.registry],
      async collect() {
        this.set(await records.countByStatus('receiving'));
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  @OnEvent(FileReceivedEvent.eventName)
  protected onReceived(event: FileReceivedEvent): void {
    if (event.retry) {
      this.retried.inc();
      return;
    }
    this.received.inc();
    this.receivedBytes.inc(event.size);
    this.size.observe(event.size);
  }

  @OnEvent(FileStoredEvent.eventName)
  protected onStored(event: FileStoredEvent): void {
    this.stored.inc();
    const took = event.receivedAt ? Date.parse(event.storedAt) - Date.parse(event.receivedAt) : NaN;
    if (Number.isFinite(took) && took >= 0) this.storageDuration.observe(took / 1000);
  }

  @OnEvent(FileFailedEvent.eventName)
  protected onFailed(event: FileFailedEvent): void {
    this.failed.inc({ code: event.error.code });
  }
}
