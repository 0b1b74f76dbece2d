// The operation explorer: the catalogue grouped by category with a search box, and for the
// chosen operation a form generated from its parameter schemas. Values are checked here
// (type, required, enum, bounds, length, pattern) and again by the server; the request
// goes to the operation's own route, and its answer — data or error — is shown with a
// curl command for the same request.

import { call, curl, segment } from './api.js';
import { errorView, fill, h, reachList, toast } from './dom.js';

export function initExplorer(ctx) {
  const list = document.getElementById('op-list');
  const search = document.getElementById('op-search');
  const detail = document.getElementById('op-detail');
  let catalog = [];
  let current = null;

  function renderList() {
    const query = search.value.trim().toLowerCase();
    const groups = new Map();
    for (const operation of catalog) {
      const text = `${operation.name} ${operation.summary} ${operation.category}`.toLowerCase();
      if (query && !text.includes(query)) continue;
      if (!groups.has(operation.category)) groups.set(operation.category, []);
      groups.get(operation.category).push(operation);
    }
    const categories = [...groups.keys()].sort();
    fill(list, categories.length === 0 ? h('p', { class: 'muted' }, 'No operation matches.') : null,
      categories.map((category) => h('div', { class: 'category' },
        h('h3', {}, category),
        groups.get(category).sort((a, b) => a.name.localeCompare(b.name)).map((operation) =>
          h('button', {
            class: `op-link${current === operation.name ? ' active' : ''}`,
            dataset: { op: operation.name },
            title: operation.summary,
            onclick: () => open(operation.name),
          }, h('span', { class: `method method-${operation.method}` }, operation.method), ' ', operation.name)))));
  }

  async function open(name, values = {}) {
    current = name;
    ctx.show('operations');
    renderList();
    fill(detail, h('p', { class: 'muted' }, `Loading ${name}…`));
    const reply = await call('GET', `/api/v1/operations/${segment(name)}`);
    if (current !== name) return;
    if (!reply.ok) {
      fill(detail, errorView(reply.status, reply.body));
      return;
    }
    renderForm(reply.body.data, values);
  }

  function renderForm(op, values) {
    const fields = op.params.map((param) => field(param, values[param.name]));
    const output = h('div', { id: 'op-output' });
    const unchecked = h('input', { type: 'checkbox', id: 'op-unchecked' });
    const allowed = ctx.can(op.name);
    const form = h('form', { id: 'op-form', novalidate: true },
      fields.map((f) => f.row),
      op.params.length === 0 ? h('p', { class: 'muted' }, 'No parameters.') : null,
      // A role that may not call the operation sees the form, not the button.
      allowed
        ? h('div', { class: 'form-actions' },
          h('button', { type: 'submit', id: 'op-run', class: 'primary' }, 'Run'),
          h('label', { class: 'muted', title: 'Send the values as typed and let the server check them' },
            unchecked, ' skip browser checks'))
        : h('p', { class: 'muted', id: 'op-not-allowed' }, `Running ${op.name} needs the ${op.required_role} role.`));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const collected = collect(op, fields, unchecked.checked);
      if (collected.errors.length) {
        fill(output, h('div', { class: 'error', id: 'op-invalid', role: 'alert' },
          h('strong', {}, 'Check the form: '),
          h('ul', {}, collected.errors.map((e) => h('li', {}, `${e.name}: ${e.message}`)))));
        return;
      }
      const { method, path, body } = request(op, collected.values);
      fill(output, h('p', { class: 'muted' }, `${method} ${path} …`));
      const started = performance.now();
      const reply = await call(method, path, body);
      const took = Math.round(performance.now() - started);
      const command = curl(method, path, body);
      fill(output,
        h('div', { class: `status ${reply.ok ? 'ok' : 'bad'}`, id: 'op-status' },
          `HTTP ${reply.status} in ${took} ms`, reply.requestId ? ` · request id ${reply.requestId}` : ''),
        reply.ok
          ? h('pre', { id: 'op-response', class: 'response' }, JSON.stringify(reply.body, null, 2))
          : h('div', { id: 'op-error' }, errorView(reply.status, reply.body)),
        h('div', { class: 'curl' },
          h('code', { id: 'op-curl' }, command),
          h('button', {
            type: 'button',
            onclick: () => navigator.clipboard.writeText(command).then(
              () => toast('curl command copied', 'ok'),
              () => toast('the browser refused the clipboard; select the command instead', 'bad')),
          }, 'Copy as curl')));
    });
    fill(detail,
      h('h2', { id: 'op-name' }, op.name, ' ', h('span', { class: 'muted' }, `v${op.version}`)),
      h('p', {}, h('span', { class: `method method-${op.method}` }, op.method), ' ', h('code', {}, op.path),
        ' · role ', h('span', { class: `role role-${op.required_role}` }, op.required_role)),
      h('p', {}, op.summary),
      op.description ? h('p', { class: 'muted' }, op.description) : null,
      reuseView(op),
      reachView(op),
      h('div', { class: 'op-body' }, form, output));
  }

  return {
    setCatalog(next) {
      catalog = next;
      renderList();
    },
    open,
  };
}

/** How an operation's instances are reused (the catalogue's `reuse`). */
function reuseView(op) {
  const reuse = op.reuse || { mode: 'fresh' };
  const shared = reuse.across_principals ? ', shared between principals' : ', one principal each';
  const text = {
    fresh: 'a fresh instance per call',
    sequential: `instances reused: up to ${reuse.max_calls} calls each, one at a time${shared}`,
    concurrent: `instances reused: up to ${reuse.max_calls} calls each, ${reuse.at_once} at once${shared}`,
  }[reuse.mode] || reuse.mode;
  const kind = op.interface === 'async_contract' ? 'asynchronous · ' : '';
  return h('p', { id: 'op-reuse', class: 'muted' }, `${kind}${text}`);
}

/** What an operation imports and reaches (see `reachList`). */
function reachView(op) {
  return reachList({ id: 'op-reach' }, op.capabilities, op.granted);
}

/** The JSON type a schema names (the first non-null one of a list). */
function typeOf(schema) {
  const type = schema.type;
  if (Array.isArray(type)) return type.find((t) => t !== 'null') || 'string';
  return type || 'string';
}

/** One form row for `param`, with a way to read its raw text back. */
function field(param, preset) {
  const schema = param.schema || {};
  const type = typeOf(schema);
  const id = `param-${param.name}`;
  let input;
  if (Array.isArray(schema.enum)) {
    input = h('select', { id, name: param.name },
      h('option', { value: '' }, param.required ? '— choose —' : '— none —'),
      schema.enum.map((value) => h('option', { value: JSON.stringify(value) }, String(value))));
  } else if (type === 'boolean') {
    input = h('select', { id, name: param.name },
      h('option', { value: '' }, '— none —'), h('option', { value: 'true' }, 'true'), h('option', { value: 'false' }, 'false'));
  } else if (type === 'object' || type === 'array') {
    input = h('textarea', { id, name: param.name, rows: 3, placeholder: type === 'object' ? '{ }' : '[ ]', spellcheck: 'false' });
  } else {
    input = h('input', {
      id,
      name: param.name,
      type: param.sensitive ? 'password' : 'text',
      inputmode: type === 'integer' ? 'numeric' : type === 'number' ? 'decimal' : null,
      autocomplete: 'off',
    });
  }
  const initial = preset !== undefined ? preset : schema.default;
  if (initial !== undefined) {
    if (input.tagName === 'SELECT') {
      input.value = Array.isArray(schema.enum) ? JSON.stringify(initial) : String(initial);
    } else {
      input.value = typeof initial === 'string' ? initial : JSON.stringify(initial);
    }
  }
  const hints = [];
  if (schema.minimum !== undefined) hints.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) hints.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) hints.push(`min length ${schema.minLength}`);
  if (schema.maxLength !== undefined) hints.push(`max length ${schema.maxLength}`);
  if (schema.pattern) hints.push(`pattern ${schema.pattern}`);
  if (schema.default !== undefined) hints.push(`default ${JSON.stringify(schema.default)}`);
  const row = h('div', { class: 'field' },
    h('label', { for: id },
      h('span', { class: 'param-name' }, param.name), param.required ? h('span', { class: 'required', title: 'required' }, ' *') : null,
      h('span', { class: 'muted' }, ` ${type} · ${param.in}`)),
    input,
    schema.description ? h('div', { class: 'hint' }, schema.description) : null,
    hints.length ? h('div', { class: 'hint' }, hints.join(' · ')) : null);
  return { param, type, schema, input, row };
}

/** The values of the form, checked against their schemas unless `unchecked`. */
function collect(op, fields, unchecked) {
  const values = {};
  const errors = [];
  for (const { param, type, schema, input } of fields) {
    const raw = input.value.trim();
    input.classList.remove('invalid');
    if (raw === '') {
      if (param.required && schema.default === undefined && !unchecked) {
        errors.push({ name: param.name, message: 'is required' });
        input.classList.add('invalid');
      }
      continue;
    }
    if (unchecked) {
      values[param.name] = loose(raw, type, input);
      continue;
    }
    const checked = check(raw, type, schema, input);
    if (checked.error) {
      errors.push({ name: param.name, message: checked.error });
      input.classList.add('invalid');
    } else {
      values[param.name] = checked.value;
    }
  }
  return { values, errors };
}

/** A value as typed: numbers and JSON where they parse, the text otherwise. */
function loose(raw, type, input) {
  if (input.tagName === 'SELECT') {
    try { return JSON.parse(raw); } catch { return raw; }
  }
  if (type !== 'string') {
    try { return JSON.parse(raw); } catch { return raw; }
  }
  return raw;
}

function check(raw, type, schema, input) {
  let value;
  if (input.tagName === 'SELECT' || type === 'object' || type === 'array') {
    try { value = JSON.parse(raw); } catch { return { error: `is not valid JSON` }; }
  } else if (type === 'integer') {
    if (!/^-?\d+$/.test(raw)) return { error: `"${raw}" is not an integer` };
    value = Number(raw);
  } else if (type === 'number') {
    value = Number(raw);
    if (!Number.isFinite(value)) return { error: `"${raw}" is not a number` };
  } else {
    value = raw;
  }
  if (type === 'object' && (typeof value !== 'object' || value === null || Array.isArray(value))) return { error: 'must be a JSON object' };
  if (type === 'array' && !Array.isArray(value)) return { error: 'must be a JSON array' };
  if (Array.isArray(schema.enum) && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    return { error: `must be one of ${schema.enum.join(', ')}` };
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return { error: `must be at least ${schema.minimum}` };
    if (schema.maximum !== undefined && value > schema.maximum) return { error: `must be at most ${schema.maximum}` };
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return { error: `must be more than ${schema.exclusiveMinimum}` };
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return { error: `must be less than ${schema.exclusiveMaximum}` };
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) return { error: `must be at least ${schema.minLength} characters` };
    if (schema.maxLength !== undefined && length > schema.maxLength) return { error: `must be at most ${schema.maxLength} characters` };
    if (schema.pattern) {
      let pattern;
      try { pattern = new RegExp(schema.pattern, 'u'); } catch { pattern = null; }
      if (pattern && !pattern.test(value)) return { error: `must match ${schema.pattern}` };
    }
  }
  return { value };
}

/** The request that calls `op` with `values`: path parameters in the route, query ones in
 * the query string, body ones as a JSON object. */
function request(op, values) {
  const byName = new Map(op.params.map((param) => [param.name, param]));
  const path = op.path.split('/').map((part) => {
    if (part.startsWith(':') || part.startsWith('*')) {
      const value = values[part.slice(1)];
      return value === undefined ? part : segment(value);
    }
    return part;
  }).join('/');
  const query = new URLSearchParams();
  let body;
  for (const [name, value] of Object.entries(values)) {
    const where = byName.get(name).in;
    if (where === 'query') {
      // The server reads repeated keys as an array.
      for (const item of Array.isArray(value) ? value : [value]) {
        query.append(name, typeof item === 'string' ? item : JSON.stringify(item));
      }
    } else if (where === 'body') {
      body = body || {};
      body[name] = value;
    }
  }
  if (body === undefined && (op.method === 'POST' || op.method === 'PUT' || op.method === 'PATCH')) body = {};
  const text = query.toString();
  return { method: op.method, path: text ? `${path}?${text}` : path, body };
}
