// Small DOM helpers shared by the views: element builders, error rendering, toasts and
// number formatting. No framework: the views rebuild their part of the page from data.

const SVG = 'http://www.w3.org/2000/svg';

function build(element, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(key, '');
    } else {
      element.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: `h('button', { class: 'danger', onclick }, 'Kill')`. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, for the charts and the tree. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

/** Replace the children of `element`. */
export function fill(element, ...children) {
  element.replaceChildren();
  return build(element, {}, children);
}

/** An API error answer as the operator needs it: code, message, details, request id. */
export function errorView(status, body) {
  const error = body && body.error;
  if (!error) {
    return h('div', { class: 'error' }, `HTTP ${status}: `, h('pre', {}, JSON.stringify(body, null, 2)));
  }
  return h('div', { class: 'error', role: 'alert' },
    h('div', {}, h('strong', { class: 'error-code' }, error.code), status ? ` (HTTP ${status}) ` : ' ', error.message),
    error.details ? h('pre', { class: 'error-details' }, JSON.stringify(error.details, null, 2)) : null,
    h('div', { class: 'muted' }, 'request id: ', h('code', { class: 'request-id' }, error.request_id || '')));
}

/**
 * What a component imports and reaches of the standard capabilities, as a definition list:
 * its capabilities and what the operator grants it (destinations, shared buckets,
 * configuration keys; a secret shows only whether it is set). Nothing when it reaches
 * nothing.
 */
export function reachList(attrs, capabilities, granted) {
  granted = granted || {};
  const rows = [];
  if (capabilities && capabilities.length) rows.push(['capabilities', capabilities.join(', ')]);
  if (granted.outbound_hosts && granted.outbound_hosts.length) rows.push(['outbound HTTP', granted.outbound_hosts.join(', ')]);
  if (granted.buckets && granted.buckets.length) rows.push(['shared buckets', granted.buckets.join(', ')]);
  const config = Object.entries(granted.config || {}).map(([key, shown]) =>
    typeof shown === 'string' ? `${key} (secret, ${shown.replace('_', ' ')})` : `${key} = ${shown.value}`);
  if (config.length) rows.push(['configuration', config.join(', ')]);
  if (!rows.length) return null;
  return h('dl', { class: 'reach', ...attrs },
    ...rows.flatMap(([term, text]) => [h('dt', {}, term), h('dd', {}, text)]));
}

let toastTimer;
/** A short message at the bottom of the page. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toast');
  box.className = `toast ${kind}`;
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
}

/** Say how an action went: a toast for success, the error in full otherwise. */
export function report(what, reply) {
  if (reply.ok) {
    toast(`${what}: done`, 'ok');
  } else {
    const error = reply.body && reply.body.error;
    toast(`${what}: ${error ? `${error.code}: ${error.message}` : `HTTP ${reply.status}`}`, 'bad');
  }
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function number(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return Number(n).toFixed(digits);
}
