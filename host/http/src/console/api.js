// The console's only way to the server: the public HTTP API, with the signed-in user's
// bearer token. The token lives in sessionStorage (this tab, until it closes) and only
// ever travels in the Authorization header — never in a URL. Live updates come from
// GET /api/v1/events read with fetch() and a stream reader, since EventSource cannot
// send headers.

const TOKEN_KEY = 'arsenal.console.token';

export const session = {
  token() { return sessionStorage.getItem(TOKEN_KEY); },
  signIn(token) { sessionStorage.setItem(TOKEN_KEY, token); },
  signOut() { sessionStorage.removeItem(TOKEN_KEY); },
};

function headers(extra = {}) {
  const all = { Accept: 'application/json', ...extra };
  const token = session.token();
  if (token) all.Authorization = `Bearer ${token}`;
  return all;
}

/**
 * One API request. `body` is sent as JSON, or as is when it is a Blob (a component upload).
 * Answers `{ ok, status, body, requestId }` whatever the status.
 */
export async function call(method, path, body) {
  const init = { method, headers: headers(), cache: 'no-store' };
  if (body instanceof Blob) {
    init.headers['Content-Type'] = 'application/wasm';
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return { ok: false, status: 0, body: { error: { code: 'network_error', message: String(error), details: null, request_id: '' } }, requestId: '' };
  }
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  return { ok: response.ok, status: response.status, body: parsed, requestId: response.headers.get('x-request-id') || '' };
}

/** A pid or other path segment, encoded. */
export function segment(value) {
  return encodeURIComponent(String(value));
}

/** The same request as a curl command. The token is left to the shell: `$ARSENAL_TOKEN`. */
export function curl(method, path, body) {
  const quote = (text) => `'${String(text).replaceAll("'", "'\\''")}'`;
  const parts = ['curl', '-sS'];
  if (method !== 'GET') parts.push('-X', method);
  parts.push(quote(`${location.origin}${path}`));
  parts.push('-H', '"Authorization: Bearer $ARSENAL_TOKEN"');
  if (body !== undefined) {
    parts.push('-H', quote('Content-Type: application/json'), '--data', quote(JSON.stringify(body)));
  }
  return parts.join(' ');
}

/**
 * Follow the event stream: `onEvent(section, data)` for each event, `onState(text)` when
 * the connection changes. Reconnects after a pause until the returned function is called.
 */
export function follow(onEvent, onState) {
  const control = new AbortController();
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  (async () => {
    while (!control.signal.aborted) {
      try {
        const response = await fetch('/api/v1/events', {
          headers: headers({ Accept: 'text/event-stream' }),
          signal: control.signal,
          cache: 'no-store',
        });
        if (!response.ok) {
          const body = await response.json().catch(() => null);
          const error = body && body.error;
          onState(`offline: ${error ? error.code : `HTTP ${response.status}`}`, false);
          await pause(5000);
          continue;
        }
        onState('live', true);
        await read(response.body, onEvent);
        onState('reconnecting', false);
      } catch (error) {
        if (control.signal.aborted) return;
        onState('reconnecting', false);
      }
      await pause(2000);
    }
  })();
  return () => control.abort();
}

/** Parse a text/event-stream body, calling `onEvent` for each complete event. */
async function read(stream, onEvent) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll('\r\n', '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') name = text;
        if (field === 'data') data.push(text);
      }
      if (data.length) {
        let parsed;
        try { parsed = JSON.parse(data.join('\n')); } catch { continue; }
        onEvent(name, parsed);
      }
    }
  }
}
