// Offline readiness: registers the service worker, saves the officer's role for offline use,
// shows whether this phone is ready with no network, and announces new releases.

const status = document.getElementById('offline');
const banner = document.getElementById('update');
const { lang, role } = document.body.dataset;

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? '');
let retries = 0;
let justFailed = false;

function show(text) {
  status.hidden = false;
  status.querySelector('summary').textContent = text;
}

function field(name, value) {
  status.querySelector(`[data-field="${name}"]`).textContent = value;
}

async function describeStorage() {
  if (!navigator.storage?.estimate) return;
  const { usage = 0 } = await navigator.storage.estimate();
  field('storage', `${(usage / 1024).toFixed(0)} KB`);
  const persisted = await navigator.storage.persisted?.();
  field('persisted', persisted ? status.dataset.granted : status.dataset.refused);
}

function render(state) {
  const saved = role && state.packs[`${lang}/${role}`];
  const any = Object.keys(state.packs).length > 0;
  if (saved || (!role && any)) {
    show(fill(status.dataset.ready, { version: state.version, pages: state.pages }));
  } else {
    show(status.dataset.none);
  }
  field('version', state.version ? `v${state.version}` : '–');
  field('pages', String(state.pages));
  status.dataset.state = saved ? 'ready' : 'none';
  describeStorage();
}

function onMessage({ data }) {
  if (data.type === 'state') {
    // The worker answers every task with its state, after an error too: only a task that did
    // not fail lets a later failure start its retries afresh.
    if (!justFailed) retries = 0;
    justFailed = false;
    render(data);
  }
  else if (data.type === 'progress') {
    status.dataset.state = 'saving';
    show(fill(status.dataset.saving, data));
  } else if (data.type === 'error') {
    status.dataset.state = 'failed';
    show(fill(status.dataset.failed, { reason: data.message }));
    // The signal often comes back a moment before the network carries anything: try again soon.
    justFailed = true;
    if (data.task === 'check' && navigator.onLine && retries < 4) setTimeout(() => check(true), 1000 * 2 ** retries++);
  } else if (data.type === 'updated') {
    const changes = data.changes[`${lang}/${role}`] ?? Object.values(data.changes).reduce((a, b) => a + b, 0);
    banner.querySelector('span').textContent = fill(banner.dataset.text, { version: data.version, changes });
    banner.hidden = false;
  }
}

async function tell(message) {
  const registration = await navigator.serviceWorker.ready;
  registration.active.postMessage(message);
}

const check = (force) => navigator.onLine && tell({ type: 'check', force });

async function save() {
  navigator.storage?.persist?.();
  await tell({ type: 'save', lang, role });
}

async function start() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', onMessage);
  await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  status.querySelector('[data-action="save"]').hidden = !role;
  status.querySelector('[data-action="save"]').addEventListener('click', save);
  banner.querySelector('button').addEventListener('click', () => location.reload());
  await tell({ type: 'status' });
  // The first visit to a role saves it; later visits only look for a newer release.
  const saved = await new Promise((resolve) => {
    const once = ({ data }) => {
      if (data.type !== 'state') return;
      navigator.serviceWorker.removeEventListener('message', once);
      resolve(Boolean(data.packs[`${lang}/${role}`]));
    };
    navigator.serviceWorker.addEventListener('message', once);
  });
  if (role && !saved) await save();
  check(true);
  window.addEventListener('online', () => {
    retries = 0;
    check(true);
  });
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && check(false));
  setInterval(() => check(false), 60 * 1000);
}

start();

if (role) localStorage.setItem('frontline:role', role);
