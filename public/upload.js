// The upload page: one XMLHttpRequest per file (for upload progress), then the file's status
// followed live over the server-sent events stream until it is stored or failed.
// URLs are relative, so the page also works behind a proxy that mounts the service under a prefix.

const form = document.getElementById('upload-form');
const input = document.getElementById('files');
const dropzone = document.getElementById('dropzone');
const apiKey = document.getElementById('api-key');
const list = document.getElementById('uploads');
const empty = document.getElementById('empty');

const STATUS_TEXT = {
  uploading: 'Uploading…',
  received: 'Received, storing…',
  processing: 'Storing…',
  stored: 'Stored',
  failed: 'Failed',
};
const RECONNECTS = 5;

form.addEventListener('submit', (event) => event.preventDefault());
input.addEventListener('change', () => {
  uploadAll(input.files);
  input.value = '';
});
for (const type of ['dragenter', 'dragover']) {
  dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add('dragover');
  });
}
for (const type of ['dragleave', 'drop']) {
  dropzone.addEventListener(type, () => dropzone.classList.remove('dragover'));
}
dropzone.addEventListener('drop', (event) => {
  event.preventDefault();
  uploadAll(event.dataTransfer.files);
});

function uploadAll(files) {
  for (const file of Array.from(files)) upload(file);
}

/** Headers for every request; the API key only when the user gave one. */
function headers(extra = {}) {
  const key = apiKey.value.trim();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

function upload(file) {
  const item = addItem(file);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', 'uploads');
  for (const [name, value] of Object.entries(headers({ Accept: 'application/json' }))) xhr.setRequestHeader(name, value);
  xhr.upload.addEventListener('progress', (event) => {
    if (!event.lengthComputable) return;
    item.progress.max = event.total;
    item.progress.value = event.loaded;
    item.status.textContent = `Uploading… ${Math.floor((event.loaded / event.total) * 100)}%`;
  });
  xhr.addEventListener('load', () => {
    const body = parseJson(xhr.responseText);
    if (xhr.status !== 202 || !body?.id) {
      showFailure(item, errorText(xhr.status, body));
      return;
    }
    item.progress.max = 1;
    item.progress.value = 1;
    item.el.dataset.id = body.id;
    showRecord(item, body);
    follow(item, body.id);
  });
  xhr.addEventListener('error', () => showFailure(item, 'the connection failed before the upload was accepted'));
  xhr.addEventListener('abort', () => showFailure(item, 'the upload was cancelled'));
  const data = new FormData();
  data.append('file', file, file.name);
  xhr.send(data);
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

function addItem(file) {
  empty.hidden = true;
  const el = document.createElement('li');
  el.className = 'upload';
  el.dataset.status = 'uploading';

  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = file.name;
  const size = document.createElement('span');
  size.className = 'size';
  size.textContent = ` (${formatSize(file.size)})`;
  name.append(size);

  const progress = document.createElement('progress');
  progress.max = Math.max(file.size, 1);
  progress.value = 0;
  progress.setAttribute('aria-label', `Upload progress of ${file.name}`);

  // role=status: screen readers announce each new status without moving focus.
  const status = document.createElement('p');
  status.className = 'status';
  status.setAttribute('role', 'status');
  status.textContent = STATUS_TEXT.uploading;

  el.append(name, progress, status);
  list.prepend(el);
  return { el, progress, status, file };
}

function showRecord(item, record) {
  item.el.dataset.status = record.status;
  if (record.status === 'failed') {
    showFailure(item, record.error?.message ?? 'storage failed');
    return;
  }
  item.status.textContent = STATUS_TEXT[record.status] ?? record.status;
  if (record.status === 'stored') item.status.append(' — ', downloadLink(record));
}

function showFailure(item, reason) {
  item.el.dataset.status = 'failed';
  item.status.textContent = `${STATUS_TEXT.failed}: ${reason}`;
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
