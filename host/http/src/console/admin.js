// Components, through the admin API (admins only): upload a new operation, replace one
// with a new version, see the versions kept, roll back, unload. Each button is a request
// to /api/v1/admin/... with the caller's token, as any client would send it.

import { call, segment } from './api.js';
import { errorView, fill, h, reachList, report } from './dom.js';

export function initAdmin(ctx) {
  const panel = document.getElementById('components-admin');
  const notice = document.getElementById('components-notice');
  const picker = document.getElementById('version-op');
  const fileInput = document.getElementById('upload-file');
  const result = document.getElementById('upload-result');
  const versions = document.getElementById('versions');

  function chosenFile() {
    const file = fileInput.files && fileInput.files[0];
    if (!file) fill(result, h('div', { class: 'error', role: 'alert' }, 'Choose a .wasm component first.'));
    return file;
  }

  function shown(reply, what) {
    report(what, reply);
    fill(result, reply.ok
      ? h('pre', { id: 'upload-response', class: 'response' }, JSON.stringify(reply.body, null, 2))
      : errorView(reply.status, reply.body));
  }

  document.getElementById('upload-button').addEventListener('click', async () => {
    const file = chosenFile();
    if (!file) return;
    shown(await call('POST', '/api/v1/admin/operations', file), `upload ${file.name}`);
  });
  document.getElementById('replace-button').addEventListener('click', async () => {
    const file = chosenFile();
    const name = picker.value;
    if (!file || !name) return;
    shown(await call('PUT', `/api/v1/admin/operations/${segment(name)}`, file), `replace ${name}`);
    showVersions();
  });
  picker.addEventListener('change', showVersions);

  async function showVersions() {
    const name = picker.value;
    if (!name) {
      fill(versions);
      return;
    }
    const reply = await call('GET', `/api/v1/admin/operations/${segment(name)}/versions`);
    if (!reply.ok) {
      fill(versions, errorView(reply.status, reply.body));
      return;
    }
    const list = reply.body.data.versions;
    fill(versions,
      h('table', { class: 'versions' },
        h('thead', {}, h('tr', {}, ['version', 'revision', 'source', 'content hash', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, list.map((v) => h('tr', { class: v.live ? 'live' : '' },
          h('td', {}, v.version, v.live ? h('span', { class: 'badge status-running' }, 'live') : null),
          h('td', {}, v.revision),
          h('td', {}, v.source),
          h('td', {}, h('code', {}, (v.content_hash || '').slice(0, 16))),
          h('td', {}))))),
      h('div', { class: 'form-actions' },
        h('button', {
          id: 'rollback-button',
          disabled: list.length < 2,
          onclick: async () => {
            if (!confirm(`Roll ${name} back to its previous version?`)) return;
            report(`roll back ${name}`, await call('POST', `/api/v1/admin/operations/${segment(name)}/rollback`, {}));
            showVersions();
          },
        }, 'Roll back'),
        h('button', {
          class: 'danger',
          onclick: async () => {
            if (!confirm(`Unload ${name}? It stops being served.`)) return;
            report(`unload ${name}`, await call('DELETE', `/api/v1/admin/operations/${segment(name)}`));
          },
        }, 'Unload')));
  }

  // Worker components: PUT /api/v1/admin/workers/{name}, their versions and roll back.
  const workerPick = document.getElementById('worker-pick');
  const workerVersions = document.getElementById('worker-versions');
  document.getElementById('worker-put').addEventListener('click', async () => {
    const input = document.getElementById('worker-file');
    const file = input.files && input.files[0];
    const name = document.getElementById('worker-name').value.trim();
    const out = document.getElementById('worker-result');
    if (!file || !name) {
      fill(out, h('div', { class: 'error', role: 'alert' }, 'Choose a .wasm worker component and name it.'));
      return;
    }
    const reply = await call('PUT', `/api/v1/admin/workers/${segment(name)}`, file);
    report(`load worker ${name}`, reply);
    fill(out, reply.ok
      ? h('pre', { id: 'worker-response', class: 'response' }, JSON.stringify(reply.body, null, 2))
      : errorView(reply.status, reply.body));
    await loadWorkers(name);
  });
  workerPick.addEventListener('change', showWorkerVersions);

  async function loadWorkers(chosen) {
    const reply = await call('GET', '/api/v1/admin/workers');
    const names = reply.ok ? reply.body.data.map((worker) => worker.name).sort() : [];
    fill(workerPick, h('option', { value: '' }, '— worker —'), names.map((name) => h('option', { value: name }, name)));
    if (chosen && names.includes(chosen)) {
      workerPick.value = chosen;
      showWorkerVersions();
    }
  }

  async function showWorkerVersions() {
    const name = workerPick.value;
    if (!name) {
      fill(workerVersions);
      return;
    }
    const [reply, loaded] = await Promise.all([
      call('GET', `/api/v1/admin/workers/${segment(name)}/versions`),
      call('GET', '/api/v1/admin/workers'),
    ]);
    if (!reply.ok) {
      fill(workerVersions, errorView(reply.status, reply.body));
      return;
    }
    const list = reply.body.data.versions;
    const worker = loaded.ok ? loaded.body.data.find((w) => w.name === name) : null;
    fill(workerVersions,
      h('table', { class: 'versions', id: 'worker-version-table' },
        h('thead', {}, h('tr', {}, ['version', 'live', 'stateful'].map((t) => h('th', {}, t)))),
        h('tbody', {}, list.map((v) => h('tr', { class: v.live ? 'live' : '' },
          h('td', {}, v.version ?? ''),
          h('td', {}, v.live ? 'live' : ''),
          h('td', {}, v.stateful ? 'yes' : 'no'))))),
      h('div', { class: 'form-actions' },
        h('button', {
          disabled: list.length < 2,
          onclick: async () => {
            if (!confirm(`Roll worker ${name} back to its previous version?`)) return;
            report(`roll back worker ${name}`, await call('POST', `/api/v1/admin/workers/${segment(name)}/rollback`, {}));
            showWorkerVersions();
          },
        }, 'Roll back worker')),
      worker ? workerReach(worker) : null);
  }

  // What the worker's processes reach: outside a sandbox, and in each sandbox one runs in.
  function workerReach(worker) {
    return h('div', { id: 'worker-reach' },
      h('h4', {}, 'Reach outside a sandbox'),
      reachList({ id: 'worker-reach-own' }, worker.capabilities, worker.granted) || h('p', { class: 'muted' }, 'nothing'),
      worker.sandboxes.map((place) => [
        h('h4', {}, `In sandbox ${place.sandbox} `, h('span', { class: 'muted' }, place.processes.join(' '))),
        reachList({ dataset: { sandbox: place.sandbox } }, [], place.granted) || h('p', { class: 'muted' }, 'nothing'),
      ]));
  }

  return {
    setCatalog(catalog) {
      if (ctx.isAdmin() && workerPick.options.length === 0) loadWorkers();
      const admin = ctx.isAdmin();
      panel.hidden = !admin;
      notice.hidden = admin;
      const chosen = picker.value;
      fill(picker, h('option', { value: '' }, '— operation —'),
        catalog.map((operation) => operation.name).sort().map((name) => h('option', { value: name }, name)));
      if (catalog.some((operation) => operation.name === chosen)) picker.value = chosen;
    },
  };
}
