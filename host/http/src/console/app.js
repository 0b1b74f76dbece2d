// The console's entry point: sign-in, the caller's role (GET /api/v1/whoami), the tabs,
// the catalogue every view shares, and the event stream that feeds the live views.

import { call, follow, session } from './api.js';
import { fill, h } from './dom.js';
import { initExplorer } from './explorer.js';
import { initLive } from './live.js';
import { initAdmin } from './admin.js';
import { initStorage } from './storage.js';

const RANK = { viewer: 0, operator: 1, admin: 2 };
const VIEWS = ['operations', 'processes', 'supervisors', 'sandboxes', 'stats', 'storage', 'components'];

/** What every view shares: who is signed in, the catalogue, and what the role allows. */
const ctx = {
  who: null,
  catalog: [],
  byName: new Map(),
  /** Whether the caller's role may call operation `name` (the server checks again). */
  can(name) {
    const operation = this.byName.get(name);
    return Boolean(this.who && operation && RANK[this.who.role] >= RANK[operation.required_role]);
  },
  isAdmin() { return Boolean(this.who && this.who.role === 'admin'); },
  show(view) { location.hash = `#${view}`; },
  openOperation: null,
};

let views = null;
let stopFollowing = null;

function showView(view) {
  const chosen = VIEWS.includes(view) ? view : 'operations';
  for (const name of VIEWS) {
    document.getElementById(`view-${name}`).hidden = name !== chosen;
    const tab = document.querySelector(`#tabs [data-view="${name}"]`);
    tab.classList.toggle('active', name === chosen);
    tab.setAttribute('aria-selected', String(name === chosen));
  }
  // Storage is read when it is opened, not pushed: it may be large.
  if (chosen === 'storage' && ctx.who) views.storage.show();
}

function setCatalog(list) {
  ctx.catalog = list;
  ctx.byName = new Map(list.map((operation) => [operation.name, operation]));
  views.explorer.setCatalog(list);
  views.admin.setCatalog(list);
  views.live.refreshActions();
  if (location.hash === '#storage') views.storage.show();
}

async function start() {
  const who = await call('GET', '/api/v1/whoami');
  if (!who.ok) {
    const refused = session.token() ? 'That token was not accepted.' : 'This server needs a token.';
    session.signOut();
    signInForm(who.status === 401 ? refused : `The server answered ${who.status}.`);
    return;
  }
  ctx.who = who.body.data;
  document.body.dataset.role = ctx.who.role;
  fill(document.getElementById('who'),
    h('span', { id: 'principal' }, ctx.who.principal), ' · ',
    h('span', { id: 'role', class: `role role-${ctx.who.role}` }, ctx.who.role));
  document.getElementById('sign-in').hidden = true;
  for (const id of ['app', 'tabs', 'session']) document.getElementById(id).hidden = false;
  const catalog = await call('GET', '/api/v1/operations');
  setCatalog(catalog.ok ? catalog.body.data : []);
  const state = document.getElementById('live-state');
  stopFollowing = follow((section, data) => {
    if (section === 'catalog') {
      if (data.data) setCatalog(data.data);
    } else {
      views.live.onEvent(section, data);
    }
  }, (text, live) => {
    state.textContent = text;
    state.className = live ? 'live' : 'offline';
  });
}

function signInForm(message) {
  if (stopFollowing) stopFollowing();
  for (const id of ['app', 'tabs', 'session']) document.getElementById(id).hidden = true;
  document.getElementById('sign-in').hidden = false;
  document.getElementById('sign-in-error').textContent = message || '';
  document.getElementById('token').focus();
}

function main() {
  views = {
    explorer: initExplorer(ctx),
    live: initLive(ctx),
    admin: initAdmin(ctx),
    storage: initStorage(ctx),
  };
  ctx.openOperation = views.explorer.open;
  for (const tab of document.querySelectorAll('#tabs [data-view]')) {
    tab.addEventListener('click', () => ctx.show(tab.dataset.view));
  }
  window.addEventListener('hashchange', () => showView(location.hash.slice(1)));
  showView(location.hash.slice(1));

  document.getElementById('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = document.getElementById('token').value.trim();
    if (!token) {
      document.getElementById('sign-in-error').textContent = 'Paste an API key or the admin token.';
      return;
    }
    session.signIn(token);
    document.getElementById('token').value = '';
    start();
  });
  document.getElementById('browse').addEventListener('click', () => {
    session.signOut();
    start();
  });
  document.getElementById('sign-out').addEventListener('click', () => {
    session.signOut();
    signInForm('Signed out.');
  });
  if (session.token()) {
    start();
  } else {
    signInForm('');
  }
}

main();
