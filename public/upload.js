// The upload page: Uppy's Dashboard sends each file with the tus protocol (resumable: a dropped
// connection or a restarted server resumes from the offset the server acknowledged), then the file's
// status is followed live over the server-sent events stream until it is stored or failed.
// On load the page lists the recent uploads with their status; failed ones can be retried.
// URLs are relative, so the page also works behind a proxy that mounts the service under a prefix.

const input = document.getElementById('files');
const apiKey = document.getElementById('api-key');
const list = document.getElementById('uploads');
const empty = document.getElementById('empty');
const listError = document.getElementById('list-error');

const STATUS_TEXT = {
  uploading: 'Uploading…',
  receiving: 'Receiving…',
  received: 'Received, storing…',
  processing: 'Storing…',
  stored: 'Stored',
  failed: 'Failed',
};
const RECONNECTS = 5;
const CHUNK_BYTES = 8 * 1024 * 1024;
/** Retries of a chunk after a network error or a 5xx, long enough to ride out a server restart. */
const RETRY_DELAYS = [0, 1000, 2000, 3000, 4000, 5000, 5000, 5000, 10000, 10000, 20000, 30000];

/** Items on the page, by upload id (and, while uploading, by Uppy's file id). */
const items = new Map();

document.getElementById('upload-form').addEventListener('submit', (event) => event.preventDefault());
apiKey.addEventListener('change', () => void loadRecent());

/** Headers for every request; the API key only when the user gave one. */
function headers(extra = {}) {
  const key = apiKey.value.trim();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

const uppy = startUppy();
void loadRecent();

function startUppy() {
  if (!window.Uppy) {
    document.getElementById('no-uppy').hidden = false;
    return undefined;
  }
  const { Uppy, Dashboard, Tus } = window.Uppy;
  const instance = new Uppy({ autoProceed: true })
    .use(Dashboard, {
      inline: true,
      target: '#dashboard',
      height: 320,
      width: '100%',
      showProgressDetails: true,
      proudlyDisplayPoweredByUppy: false,
      hideProgressAfterFinish: false,
      note: 'Drag and drop files here. Each upload can be paused and resumed.',
    })
    .use(Tus, {
      endpoint: new URL('uploads/tus', document.baseURI).href,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      removeFingerprintOnSuccess: true,
      onBeforeRequest(req) {
        for (const [name, value] of Object.entries(headers())) req.setHeader(name, value);
      },
    });
  input.addEventListener('change', () => {
    for (const file of Array.from(input.files)) {
      try {
        instance.addFile({ name: file.name, type: file.type, data: file, source: 'page' });
      } catch {
        // Uppy refused it (a duplicate): its own notice says so.
      }
    }
    input.value = '';
  });
  instance.on('file-added', (file) => items.set(file.id, addItem({ filename: file.name, size: file.size }, 'uploading')));
  instance.on('upload-progress', (file, progress) => {
    const item = items.get(file.id);
    if (!item || !progress.bytesTotal) return;
    item.progress.max = progress.bytesTotal;
    item.progress.value = progress.bytesUploaded;
    item.status.textContent = `Uploading… ${Math.floor((progress.bytesUploaded / progress.bytesTotal) * 100)}%`;
  });
  instance.on('upload-success', (file, response) => {
    const item = items.get(file.id);
    const url = response?.uploadURL ?? '';
    const id = decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
    if (!item || !id) return;
    item.progress.max = 1;
    item.progress.value = 1;
    item.el.dataset.id = id;
    items.set(id, item);
    showRecord(item, { status: 'received' });
    void follow(item, id);
  });
  instance.on('upload-error', (file, error) => {
    const item = items.get(file.id);
    if (!item) return;
    const res = error?.originalResponse;
    const status = res?.getStatus?.();
    showFailure(item, status ? errorText(status, parseJson(res.getBody?.())) : (error?.message ?? 'the upload failed'));
  });
  return instance;
}

/** The most recent uploads, with their status; those not settled yet are followed live. */
async function loadRecent() {
  listError.hidden = true;
  let res;
  try {
    res = await fetch('uploads?limit=20', { headers: headers({ Accept: 'application/json' }) });
  } catch {
    return;
  }
  if (!res.ok) {
    listError.hidden = false;
    listError.textContent =
      res.status === 401 ? 'Enter the API key to see the recent uploads.' : `Could not list the recent uploads (HTTP ${res.status}).`;
    return;
  }
  const page = parseJson(await res.text());
  for (const record of [...(page?.items ?? [])].reverse()) {
    if (items.has(record.id)) continue;
    const item = addItem(record, record.status);
    item.el.dataset.id = record.id;
    item.progress.max = Math.max(record.length ?? record.size, 1);
    item.progress.value = record.status === 'receiving' ? (record.offset ?? 0) : item.progress.max;
    items.set(record.id, item);
    showRecord(item, record);
    if (record.status === 'received' || record.status === 'processing') void follow(item, record.id);
  }
}

/**
 * Reads the status stream with fetch rather than EventSource, which cannot send the API key. A
 * stream that ends before the upload settles (a server restart) is opened again a few times.
 */
async function follow(item, id) {
  for (let attempt = 0; attempt <= RECONNECTS; attempt += 1) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    try {
      const res = await fetch(`uploads/${encodeURIComponent(id)}/events`, { headers: headers({ Accept: 'text/event-stream' }) });
      if (!res.ok) {
        showFailure(item, errorText(res.status, parseJson(await res.text())));
        return;
      }
      for await (const event of serverSentEvents(res.body)) {
        if (event.type !== 'status') continue;
        const record = parseJson(event.data);
        if (!record) continue;
        showRecord(item, record);
        if (record.status === 'stored' || record.status === 'failed') return;
      }
    } catch {
      // the connection dropped: try again below
    }
  }
  item.status.textContent = 'Lost the live status; reload the page to check again.';
}

/** Parses a text/event-stream body into { type, data } events. */
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon === 0) continue;
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) yield { type, data: data.join('\n') };
    }
  }
}

function addItem({ filename, size }, status) {
  empty.hidden = true;
  const el = document.createElement('li');
  el.className = 'upload';
  el.dataset.status = status;

  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = filename;
  const sizeText = document.createElement('span');
  sizeText.className = 'size';
  sizeText.textContent = ` (${formatSize(size)})`;
  name.append(sizeText);

  const progress = document.createElement('progress');
  progress.max = Math.max(size, 1);
  progress.value = 0;
  progress.setAttribute('aria-label', `Upload progress of ${filename}`);

  // role=status: screen readers announce each new status without moving focus.
  const statusText = document.createElement('p');
  statusText.className = 'status';
  statusText.setAttribute('role', 'status');
  statusText.textContent = STATUS_TEXT[status] ?? status;

  el.append(name, progress, statusText);
  list.prepend(el);
  return { el, progress, status: statusText };
}

function showRecord(item, record) {
  item.el.dataset.status = record.status;
  if (record.status === 'failed') {
    showFailure(item, record.error?.message ?? 'storage failed', record.id);
    return;
  }
  item.status.textContent = STATUS_TEXT[record.status] ?? record.status;
  if (record.status === 'receiving' && record.length) {
    item.status.textContent = `Receiving… ${formatSize(record.offset ?? 0)} of ${formatSize(record.length)} (resume it by adding the same file)`;
  }
  if (record.status === 'stored') item.status.append(' — ', downloadLink(record));
}

/** Marks an item failed with the reason; one whose upload exists on the server gets a retry button. */
function showFailure(item, reason, id) {
  item.el.dataset.status = 'failed';
  item.status.textContent = `${STATUS_TEXT.failed}: ${reason}`;
  if (id) item.status.append(' ', retryButton(item, id));
}

function retryButton(item, id) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Retry';
  button.addEventListener('click', async () => {
    button.disabled = true;
    const res = await fetch(`uploads/${encodeURIComponent(id)}/retry`, {
      method: 'POST',
      headers: headers({ Accept: 'application/json' }),
    });
    const body = parseJson(await res.text());
    if (!res.ok) {
      showFailure(item, errorText(res.status, body));
      return;
    }
    showRecord(item, body);
    void follow(item, id);
  });
  return button;
}

function downloadLink(record) {
  const link = document.createElement('a');
  link.href = `uploads/${encodeURIComponent(record.id)}/content`;
  link.download = record.filename;
  link.textContent = `Download ${record.filename}`;
  // A plain link cannot carry the API key: fetch the bytes with it and hand them over instead.
  link.addEventListener('click', async (event) => {
    if (!apiKey.value.trim()) return;
    event.preventDefault();
    const res = await fetch(link.href, { headers: headers() });
    if (!res.ok) return;
    const url = URL.createObjectURL(await res.blob());
    const save = Object.assign(document.createElement('a'), { href: url, download: record.filename });
    save.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  });
  return link;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorText(status, body) {
  const message = Array.isArray(body?.message) ? body.message.join('; ') : body?.message;
  return message ? `${message} (HTTP ${status})` : `the server answered HTTP ${status || 'nothing'}`;
}

function formatSize(bytes) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} ${units[0]}` : `${value.toFixed(1)} ${units[unit]}`;
}

export { uppy };
