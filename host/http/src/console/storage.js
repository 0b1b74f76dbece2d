// Storage: every component's key-value buckets through the storage built-ins — buckets
// with their usage (list_buckets), a bucket's keys (list_keys), a key's value (get_key;
// a secret key's value is never sent, only its size), and for an admin, put_key and
// delete_key. Each is a request to the operation's own route with the caller's token.

import { call } from './api.js';
import { bytes, errorView, fill, h, report } from './dom.js';

const PAGE = 100;

export function initStorage(ctx) {
  const notice = document.getElementById('storage-notice');
  const body = document.getElementById('storage-body');
  const bucketList = document.getElementById('bucket-list');
  const keyList = document.getElementById('key-list');
  const valueBox = document.getElementById('key-value');
  const putForm = document.getElementById('put-key-form');
  let bucket = null;
  let offset = 0;

  const query = (params) => new URLSearchParams(params).toString();

  async function showBuckets() {
    const reply = await call('GET', `/api/v1/storage/buckets?${query({ limit: 1000 })}`);
    if (!reply.ok) {
      fill(bucketList, errorView(reply.status, reply.body));
      return;
    }
    const { buckets, total } = reply.body.data;
    fill(bucketList,
      h('p', { class: 'muted', id: 'bucket-count' }, `${total} bucket${total === 1 ? '' : 's'} holding keys`),
      h('table', { id: 'bucket-table' },
        h('thead', {}, h('tr', {}, ['bucket', 'owner', 'keys', 'bytes'].map((t) => h('th', {}, t)))),
        h('tbody', {}, buckets.map((b) => h('tr', {
          dataset: { bucket: b.name },
          class: b.name === bucket ? 'chosen' : '',
        },
        h('td', {}, h('button', { class: 'link', onclick: () => openBucket(b.name, 0) }, b.name)),
        h('td', {}, b.owner_kind === 'shared' ? 'shared' : `${b.owner_kind} ${b.owner}`),
        h('td', { class: 'num' }, b.keys),
        h('td', { class: 'num' }, bytes(b.bytes)))))));
  }

  async function openBucket(name, from) {
    bucket = name;
    offset = from;
    document.getElementById('put-bucket').value = name;
    fill(valueBox);
    const reply = await call('GET', `/api/v1/storage/keys?${query({ bucket: name, offset: from, limit: PAGE })}`);
    for (const row of bucketList.querySelectorAll('tr[data-bucket]')) {
      row.classList.toggle('chosen', row.dataset.bucket === name);
    }
    if (!reply.ok) {
      fill(keyList, errorView(reply.status, reply.body));
      return;
    }
    const page = reply.body.data;
    const admin = ctx.can('delete_key');
    fill(keyList,
      h('h3', { id: 'keys-of' }, name),
      h('p', { class: 'muted' }, `${page.total} keys · ${bytes(page.bucket.bytes)}`),
      h('table', { id: 'key-table' },
        h('thead', {}, h('tr', {}, ['key', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, page.keys.map((k) => h('tr', { dataset: { key: k.key } },
          h('td', {},
            h('button', { class: 'link', onclick: () => openKey(name, k.key) }, k.key),
            k.secret ? h('span', { class: 'badge secret' }, 'secret') : null),
          h('td', { class: 'num' },
            admin ? h('button', {
              class: 'small danger',
              dataset: { action: 'delete_key' },
              onclick: () => deleteKey(name, k.key),
            }, 'Delete') : null))))),
      h('div', { class: 'form-actions' },
        h('button', { disabled: from === 0, onclick: () => openBucket(name, Math.max(0, from - PAGE)) }, 'Previous'),
        h('span', { class: 'muted' }, `${page.total === 0 ? 0 : from + 1}–${from + page.keys.length} of ${page.total}`),
        h('button', { disabled: from + page.keys.length >= page.total, onclick: () => openBucket(name, from + PAGE) }, 'Next')));
  }

  async function openKey(name, key) {
    const reply = await call('GET', `/api/v1/storage/key?${query({ bucket: name, key })}`);
    if (!reply.ok) {
      fill(valueBox, errorView(reply.status, reply.body));
      return;
    }
    const entry = reply.body.data;
    fill(valueBox,
      h('h3', {}, h('code', { id: 'value-key' }, entry.key), ` · ${bytes(entry.size)}`,
        entry.encoding ? h('span', { class: 'badge' }, entry.encoding) : null),
      entry.secret
        ? h('p', { id: 'value-hidden', class: 'secret-value' }, `Hidden: a secret key's value is never shown (${entry.size} bytes).`)
        : h('pre', { id: 'value-shown', class: 'response' }, entry.value));
  }

  async function deleteKey(name, key) {
    if (!confirm(`Delete ${key} from ${name}?`)) return;
    const reply = await call('DELETE', `/api/v1/storage/key?${query({ bucket: name, key })}`);
    report(`delete ${key}`, reply);
    await refresh();
  }

  async function refresh() {
    await showBuckets();
    if (bucket) await openBucket(bucket, offset);
  }

  putForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const target = document.getElementById('put-bucket').value.trim();
    const key = document.getElementById('put-key').value;
    const value = document.getElementById('put-value').value;
    const encoding = document.getElementById('put-encoding').value;
    const reply = await call('PUT', '/api/v1/storage/key', { bucket: target, key, value, encoding });
    report(`put ${key}`, reply);
    fill(document.getElementById('put-result'), reply.ok ? null : errorView(reply.status, reply.body));
    if (reply.ok) {
      document.getElementById('put-value').value = '';
      bucket = target;
      await refresh();
    }
  });
  document.getElementById('storage-refresh').addEventListener('click', refresh);

  return {
    /** The tab was opened: show what the role may see. */
    show() {
      const allowed = ctx.can('list_buckets');
      notice.hidden = allowed;
      body.hidden = !allowed;
      putForm.hidden = !ctx.can('put_key');
      if (allowed) refresh();
    },
  };
}
