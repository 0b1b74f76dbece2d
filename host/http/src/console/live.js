// The live views, fed by the event stream: the process list (sort, filter, actions), the
// supervision trees drawn as trees with status colours and restart counts, the sandboxes
// with their budgets as bars, and per-operation request rate, error rate and latency as
// small charts. Every action is a call of the operation that does it, with the caller's
// token; buttons the role cannot use are not shown (the server checks regardless).

import { call, segment } from './api.js';
import { bytes, errorView, fill, h, number, report, s } from './dom.js';

/** Points kept per chart: two minutes at one event a second at most. */
const HISTORY = 120;

export function initLive(ctx) {
  const processes = { rows: [], error: null, sort: 'pid', descending: false };
  let tree = null;
  let sandboxes = null;
  /** Per operation: the samples of its charts. */
  const series = new Map();

  const tableBody = document.getElementById('proc-rows');
  const filter = document.getElementById('proc-filter');
  const statusFilter = document.getElementById('proc-status');
  filter.addEventListener('input', renderProcesses);
  statusFilter.addEventListener('change', renderProcesses);
  for (const header of document.querySelectorAll('#proc-table th[data-sort]')) {
    header.addEventListener('click', () => {
      const key = header.dataset.sort;
      processes.descending = processes.sort === key ? !processes.descending : key !== 'pid' && key !== 'name';
      processes.sort = key;
      renderProcesses();
    });
  }
  document.getElementById('start-process').addEventListener('click', () => ctx.openOperation('start_process'));
  document.getElementById('start-supervisor').addEventListener('click', () => ctx.openOperation('start_supervisor'));
  document.getElementById('create-sandbox').addEventListener('click', () => ctx.openOperation('create_sandbox'));

  async function act(what, method, path, body) {
    const reply = await call(method, path, body);
    report(what, reply);
    return reply;
  }

  function button(operation, label, onclick, kind = '') {
    if (!ctx.can(operation)) return null;
    return h('button', { class: `small ${kind}`, dataset: { action: operation }, onclick }, label);
  }

  function renderProcesses() {
    const error = document.getElementById('proc-error');
    fill(error, processes.error ? errorView(processes.error.status, processes.error.body) : null);
    const text = filter.value.trim().toLowerCase();
    const status = statusFilter.value;
    const rows = processes.rows.filter((p) =>
      (!status || p.status === status)
      && (!text || `${p.pid} ${p.name || ''} ${p.worker}`.toLowerCase().includes(text)));
    const key = processes.sort;
    rows.sort((a, b) => {
      const x = a[key] ?? '';
      const y = b[key] ?? '';
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
      return processes.descending ? -order : order;
    });
    for (const header of document.querySelectorAll('#proc-table th[data-sort]')) {
      header.classList.toggle('sorted', header.dataset.sort === key);
      header.dataset.direction = processes.descending ? 'desc' : 'asc';
    }
    document.getElementById('proc-count').textContent = `${rows.length} of ${processes.rows.length}`;
    fill(tableBody, rows.map((p) => {
      const pid = segment(p.pid);
      return h('tr', { dataset: { pid: p.pid } },
        h('td', {}, h('code', {}, p.pid)),
        h('td', {}, p.name || ''),
        h('td', {}, p.worker),
        h('td', {}, h('span', { class: `badge status-${p.status}` }, p.status)),
        h('td', { class: 'num' }, p.mailbox_len),
        h('td', { class: 'num' }, p.messages_in),
        h('td', { class: 'num' }, p.busy_ms),
        h('td', { class: 'num' }, bytes(p.memory_bytes)),
        h('td', { class: 'num' }, p.restarts),
        h('td', { class: 'actions' },
          p.status === 'suspended'
            ? button('resume_process', 'Resume', () => act(`resume ${p.pid}`, 'POST', `/api/v1/processes/${pid}/resume`, {}))
            : button('suspend_process', 'Suspend', () => act(`suspend ${p.pid}`, 'POST', `/api/v1/processes/${pid}/suspend`, {})),
          button('restart_process', 'Restart', () => act(`restart ${p.pid}`, 'POST', `/api/v1/processes/${pid}/restart`, {})),
          button('kill_process', 'Kill', () => {
            if (confirm(`Kill ${p.pid}?`)) act(`kill ${p.pid}`, 'DELETE', `/api/v1/processes/${pid}`);
          }, 'danger')));
    }));
  }

  function renderTree() {
    const box = document.getElementById('tree');
    if (!tree) return;
    if (tree.error) {
      fill(box, errorView(tree.error.status, tree.error.body));
      return;
    }
    const { trees } = tree.data;
    fill(box, trees.length === 0 ? h('p', { class: 'muted' }, 'No supervision trees.') : null,
      trees.map((root) => h('ul', { class: 'tree' }, node(root, null))));
  }

  function node(item, parent) {
    const isSupervisor = item.kind === 'supervisor';
    const label = h('div', { class: `node status-${item.status}`, dataset: { pid: item.pid || '', child: item.id || '' } },
      h('span', { class: `dot status-${item.status}`, title: item.status }),
      h('strong', {}, item.id || item.pid), ' ',
      h('code', { class: 'muted' }, item.pid || 'not running'), ' ',
      h('span', { class: 'muted' }, isSupervisor ? 'supervisor' : item.worker || item.kind),
      h('span', { class: `restarts${item.restarts ? ' some' : ''}`, title: 'restarts' }, `↻ ${item.restarts ?? 0}`),
      parent && parent.pid
        ? button('restart_child', 'Restart child', () => act(`restart child ${item.id}`, 'POST',
          `/api/v1/supervisors/${segment(parent.pid)}/children/${segment(item.id)}/restart`, {}))
        : null,
      isSupervisor && item.pid
        ? button('change_strategy', 'Strategy…', () => ctx.openOperation('change_strategy', { id: item.pid }))
        : null);
    const children = item.children || [];
    return h('li', {}, label, children.length ? h('ul', {}, children.map((child) => node(child, item))) : null);
  }

  function bar(label, used, total, format) {
    const share = total > 0 ? Math.min(1, used / total) : 0;
    const level = share > 0.9 ? 'high' : share > 0.7 ? 'mid' : 'low';
    const filled = h('div', { class: `fill ${level}` });
    // Through the CSSOM: the content security policy refuses inline style attributes.
    filled.style.width = `${(share * 100).toFixed(1)}%`;
    return h('div', { class: 'bar-row' },
      h('span', { class: 'bar-label' }, label),
      h('div', { class: 'bar', role: 'meter', 'aria-valuenow': used, 'aria-valuemax': total }, filled),
      h('span', { class: 'bar-text' }, `${format(used)} / ${total > 0 ? format(total) : '∞'}`));
  }

  function renderSandboxes() {
    const box = document.getElementById('sandbox-list');
    if (!sandboxes) return;
    if (sandboxes.error) {
      fill(box, errorView(sandboxes.error.status, sandboxes.error.body));
      return;
    }
    const list = sandboxes.data.sandboxes;
    fill(box, list.length === 0 ? h('p', { class: 'muted' }, 'No sandboxes.') : null,
      list.map((sandbox) => {
        const id = segment(sandbox.id);
        return h('div', { class: 'card sandbox', dataset: { sandbox: sandbox.id } },
          h('div', { class: 'card-head' },
            h('strong', {}, sandbox.id), ' ', h('span', { class: `badge status-${sandbox.status}` }, sandbox.status),
            h('span', { class: 'actions' },
              button('hot_reload_sandbox', 'Hot reload…', () => ctx.openOperation('hot_reload_sandbox', { id: sandbox.id })),
              button('restart_sandbox', 'Restart', () => act(`restart sandbox ${sandbox.id}`, 'POST', `/api/v1/sandboxes/${id}/restart`, {})),
              button('destroy_sandbox', 'Destroy', () => {
                if (confirm(`Destroy sandbox ${sandbox.id}?`)) act(`destroy ${sandbox.id}`, 'DELETE', `/api/v1/sandboxes/${id}`);
              }, 'danger'))),
          bar('memory', sandbox.usage.memory_bytes, sandbox.limits.total_memory_bytes, bytes),
          bar('processes', sandbox.usage.processes, sandbox.limits.max_processes, (n) => String(n)),
          sandbox.limits.cpu_time_ms ? bar('cpu', sandbox.usage.cpu_time_ms, sandbox.limits.cpu_time_ms, (n) => `${n} ms`) : null);
      }));
  }

  function sample(stats) {
    const now = Date.now() / 1000;
    for (const operation of stats) {
      const totals = operation.totals || {};
      const minute = operation.last_minute || {};
      let points = series.get(operation.name);
      if (!points) {
        points = [];
        series.set(operation.name, points);
      }
      const last = points[points.length - 1];
      const calls = totals.calls || 0;
      const failures = totals.failures || 0;
      const seconds = last ? Math.max(now - last.at, 0.001) : 1;
      points.push({
        at: now,
        calls,
        failures,
        rate: last ? Math.max(0, calls - last.calls) / seconds : 0,
        errors: last ? Math.max(0, failures - last.failures) / seconds : 0,
        p99: minute.p99_ms ?? 0,
        minute,
      });
      if (points.length > HISTORY) points.shift();
    }
  }

  function spark(values, kind) {
    const width = 120;
    const height = 28;
    const top = Math.max(...values, 0.000001);
    const step = values.length > 1 ? width / (values.length - 1) : width;
    const coordinates = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / top) * (height - 4)).toFixed(1)}`).join(' ');
    return s('svg', { class: `spark ${kind}`, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' },
      s('polyline', { points: coordinates || `0,${height - 2}`, fill: 'none' }));
  }

  function renderStats() {
    const box = document.getElementById('stats-list');
    const rows = [...series.entries()]
      .filter(([, points]) => points[points.length - 1].calls > 0)
      .sort((a, b) => b[1][b[1].length - 1].calls - a[1][a[1].length - 1].calls);
    fill(box, rows.length === 0 ? h('p', { class: 'muted' }, 'No operation has been called yet.') : null,
      rows.length ? h('table', { class: 'stats' },
        h('thead', {}, h('tr', {}, ['operation', 'calls', 'requests/s', 'errors/s', 'p99 latency (1 min)'].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows.map(([name, points]) => {
          const latest = points[points.length - 1];
          return h('tr', { dataset: { op: name } },
            h('td', {}, h('code', {}, name)),
            h('td', { class: 'num' }, latest.calls),
            h('td', {}, spark(points.map((p) => p.rate), 'rate'), ' ', number(latest.rate)),
            h('td', {}, spark(points.map((p) => p.errors), 'errors'), ' ', number(latest.errors), ` (${number((latest.minute.error_rate || 0) * 100)} %)`),
            h('td', {}, spark(points.map((p) => p.p99), 'latency'), ' ', latest.minute.p99_ms === null || latest.minute.p99_ms === undefined ? '–' : `${number(latest.minute.p99_ms, 2)} ms`));
        }))) : null);
  }

  /** `{data}` or `{error}` as the API answered it. */
  function split(answer) {
    return answer.error ? { error: { status: 0, body: answer } } : { data: answer.data };
  }

  return {
    onEvent(section, answer) {
      if (section === 'processes') {
        const part = split(answer);
        processes.error = part.error || null;
        processes.rows = part.data ? part.data.processes : [];
        renderProcesses();
      } else if (section === 'tree') {
        tree = split(answer);
        renderTree();
      } else if (section === 'sandboxes') {
        sandboxes = split(answer);
        renderSandboxes();
      } else if (section === 'stats' && answer.data) {
        sample(answer.data);
        renderStats();
      }
    },
    /** The role or the catalogue changed: redraw the buttons. */
    refreshActions() {
      for (const [name, allowed] of [['start-process', 'start_process'], ['start-supervisor', 'start_supervisor'], ['create-sandbox', 'create_sandbox']]) {
        document.getElementById(name).hidden = !ctx.can(allowed);
      }
      renderProcesses();
      renderTree();
      renderSandboxes();
    },
  };
}
