// The service worker: keeps the app shell and each saved role's pages on the phone, serves them
// with no network, and moves to a new release only once every page of it is stored.
// CONFIG is written above this line by the server: {shell, offline, checkSeconds, outboxScript}.
// It also sends the field reports waiting in the outbox when Background Sync says it may.
// Each saved pack keeps the items the officer has still to re-read after a critical change, so a
// page opened later, with no network, still asks for them.

importScripts(CONFIG.outboxScript);

const SHELL_CACHE = 'frontline-shell-' + hashOf(JSON.stringify(CONFIG.shell));
const STATE_CACHE = 'frontline-state';
const STATE_URL = '/__frontline/state.json';
const PACK_PREFIX = 'frontline-pack-';
const MARKER = /<span data-release="[^"]*">[^<]*<\/span>/g;

let work = Promise.resolve();
let memoState = null;

function hashOf(text) {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16);
}

// One change at a time: a save and an update never interleave.
function serial(task) {
  const run = work.then(task, task);
  work = run.catch(() => {});
  return run;
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(CONFIG.shell.map((url) => new Request(url, { cache: 'reload' })));
    self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('frontline-shell-') && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function readState() {
  if (memoState) return memoState;
  const cache = await caches.open(STATE_CACHE);
  const stored = await cache.match(STATE_URL);
  memoState = stored ? await stored.json() : { cache: null, version: null, label: '', notes: '', urls: {}, packs: {}, checkedAt: 0 };
  return memoState;
}

async function writeState(state) {
  const cache = await caches.open(STATE_CACHE);
  await cache.put(STATE_URL, new Response(JSON.stringify(state), { headers: { 'Content-Type': 'application/json' } }));
  memoState = state;
}

async function broadcast(message) {
  for (const client of await self.clients.matchAll({ includeUncontrolled: true, type: 'window' })) {
    client.postMessage(message);
  }
}

async function summary() {
  const state = await readState();
  const packs = {};
  for (const [key, pack] of Object.entries(state.packs)) {
    const pending = Object.entries(pack.pending || {}).map(([id, entry]) => ({ id, ...entry }));
    packs[key] = { pages: pack.urls.length, pending };
  }
  return { type: 'state', version: state.version, label: state.label, pages: Object.keys(state.urls).length, packs };
}

async function sha256(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function escapeHtml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&#34;').replace(/'/g, '&#39;');
}

function withRelease(text, version, label) {
  return text.replace(MARKER, `<span data-release="${version}">${escapeHtml(label)}</span>`);
}

const pageHash = (text) => sha256(text.replace(MARKER, '<span data-release=""></span>'));

async function fetchManifest(key, etag) {
  const [lang, role] = key.split('/');
  const headers = etag ? { 'If-None-Match': etag } : {};
  const response = await fetch(`/api/v1/offline-manifest?role=${encodeURIComponent(role)}&lang=${encodeURIComponent(lang)}`, { cache: 'no-store', headers });
  if (response.status === 304) return null;
  if (!response.ok) throw new Error(`offline manifest: HTTP ${response.status}`);
  return { manifest: await response.json(), etag: response.headers.get('ETag') };
}

// Store every URL of `manifests` in a new cache, reusing what the phone holds already, then
// switch to it in one write of the state, and only then drop the old cache.
async function install(manifests, state) {
  const version = manifests[0].manifest.version;
  const label = manifests[0].manifest.release_label;
  if (manifests.some(({ manifest }) => manifest.version !== version)) throw new Error('release changed during update');
  const name = `${PACK_PREFIX}v${version}-${Date.now()}`;
  const target = await caches.open(name);
  const previous = state.cache ? await caches.open(state.cache) : null;
  const urls = {};
  const wanted = new Map();
  for (const { manifest } of manifests) for (const entry of manifest.urls) wanted.set(entry.url, entry.hash);
  let done = 0;
  try {
    for (const [url, hash] of wanted) {
      let stored = null;
      if (previous && state.urls[url] === hash) {
        const old = await previous.match(url);
        if (old) {
          const text = withRelease(await old.text(), version, label);
          stored = new Response(text, { headers: { 'Content-Type': old.headers.get('Content-Type') } });
        }
      }
      if (!stored) {
        const response = await fetch(url, { cache: 'reload', credentials: 'same-origin' });
        if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
        const text = await response.text();
        if (await pageHash(text) !== hash) throw new Error(`${url}: not the content of v${version}`);
        stored = new Response(text, { headers: { 'Content-Type': response.headers.get('Content-Type') } });
      }
      await target.put(url, stored);
      urls[url] = hash;
      done += 1;
      broadcast({ type: 'progress', done, total: wanted.size });
    }
  } catch (error) {
    await caches.delete(name);
    throw error;
  }
  const packs = {};
  for (const { manifest, etag } of manifests) {
    const key = `${manifest.lang}/${manifest.role}`;
    const pack = {
      urls: manifest.urls.map((e) => e.url), items: manifest.items, titles: manifest.titles || {}, critical: manifest.critical || {}, etag,
    };
    pack.pending = toReread(key, state.packs[key], pack, state.version);
    packs[key] = pack;
  }
  const oldCache = state.cache;
  const next = { cache: name, version, label, notes: manifests[0].manifest.notes, urls, packs, checkedAt: Date.now() };
  await writeState(next);
  if (oldCache && oldCache !== name) await caches.delete(oldCache);
  return next;
}

function changesFor(oldItems, newItems) {
  let count = 0;
  for (const [id, hash] of Object.entries(newItems)) if (oldItems[id] !== hash) count += 1;
  for (const id of Object.keys(oldItems)) if (!(id in newItems)) count += 1;
  return count;
}

// Where an item is read: its practice page, or nowhere when the manifest does not say.
function itemUrl(key, id, practice) {
  const [lang, role] = key.split('/');
  return practice ? `/${lang}/${role}/${practice}/#${id}` : null;
}

// Each item added, changed or removed between two versions of a pack, with the title the officer
// knows it by, and critical when a release newer than the phone's old one marked it so. Packs
// stored by an older worker have no titles: their removed items are named by id.
function changeList(key, before, after, oldVersion) {
  const oldTitles = before.titles || {};
  const changes = [];
  for (const [id, hash] of Object.entries(after.items)) {
    if (before.items[id] === hash) continue;
    const { title, practice } = after.titles[id] || { title: id, practice: null };
    changes.push({
      id, kind: id in before.items ? 'changed' : 'added', title, url: itemUrl(key, id, practice),
      critical: (after.critical[id] || 0) > oldVersion,
    });
  }
  for (const id of Object.keys(before.items)) {
    if (!(id in after.items)) changes.push({ id, kind: 'removed', title: oldTitles[id]?.title || id, url: null, critical: false });
  }
  return changes;
}

// The critical changes not yet confirmed as read: those still waiting (renamed, or dropped when
// their item is gone) and those this update brings. The page keeps which ones were confirmed.
function toReread(key, before, after, oldVersion) {
  if (!before) return {};
  const pending = {};
  for (const [id, entry] of Object.entries(before.pending || {})) {
    if (!(id in after.items)) continue;
    const named = after.titles[id];
    pending[id] = named ? { ...entry, title: named.title, url: itemUrl(key, id, named.practice) } : entry;
  }
  for (const change of changeList(key, before, after, oldVersion)) {
    if (change.critical) pending[change.id] = { title: change.title, url: change.url, version: after.critical[change.id] };
  }
  return pending;
}

async function save(lang, role) {
  const state = await readState();
  const keys = new Set([...Object.keys(state.packs), `${lang}/${role}`]);
  const manifests = [];
  for (const key of keys) manifests.push(await fetchManifest(key, null));
  announce(state, await install(manifests, state));
}

async function checkForUpdate(force) {
  const state = await readState();
  const keys = Object.keys(state.packs);
  if (!keys.length) return;
  if (!force && Date.now() - state.checkedAt < CONFIG.checkSeconds * 1000) return;
  const fetched = [];
  for (const key of keys) fetched.push([key, await fetchManifest(key, state.packs[key].etag)]);
  if (fetched.every(([, result]) => result === null)) {
    await writeState({ ...state, checkedAt: Date.now() });
    return;
  }
  const manifests = [];
  for (const [key, result] of fetched) manifests.push(result || await fetchManifest(key, null));
  announce(state, await install(manifests, state));
}

// Tell every open page about a new release: for each saved role, how many items changed and
// which ones (`details`), with the release notes.
function announce(before, after) {
  if (!before.version || before.version === after.version) return;
  const changes = {};
  const details = {};
  for (const [key, pack] of Object.entries(before.packs)) {
    if (!after.packs[key]) continue;
    changes[key] = changesFor(pack.items, after.packs[key].items);
    details[key] = changeList(key, pack, after.packs[key], before.version);
  }
  broadcast({ type: 'updated', version: after.version, label: after.label, notes: after.notes, changes, details });
}

self.addEventListener('message', (event) => {
  const message = event.data || {};
  const reply = async () => event.source && event.source.postMessage(await summary());
  let task;
  if (message.type === 'save') task = serial(() => save(message.lang, message.role));
  else if (message.type === 'check') task = serial(() => checkForUpdate(Boolean(message.force)));
  else task = Promise.resolve();
  event.waitUntil(task.then(reply, async (error) => {
    if (event.source) event.source.postMessage({ type: 'error', task: message.type, message: String(error.message || error) });
    await reply();
  }));
});

self.addEventListener('sync', (event) => {
  if (event.tag !== 'outbox') return;
  event.waitUntil(self.FrontlineOutbox.drain(true).then((waiting) => {
    if (waiting) throw new Error(`${waiting} reports still waiting`); // asks for another sync later
  }));
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === '/sw.js' || url.pathname === '/api/v1/offline-manifest') return;
  event.respondWith(respond(request, url));
});

async function respond(request, url) {
  if (url.pathname.startsWith('/static/') || url.pathname === '/manifest.webmanifest') {
    const shell = await caches.open(SHELL_CACHE);
    const hit = await shell.match(request);
    if (hit) return hit;
    try {
      return await fetch(request);
    } catch (error) {
      const older = await caches.match(request, { ignoreSearch: true });
      if (older) return older;
      throw error;
    }
  }
  const state = await readState();
  if (state.cache) {
    const pack = await caches.open(state.cache);
    const key = url.pathname.endsWith('/search/') ? url.origin + url.pathname : request;
    const hit = await pack.match(key);
    if (hit) return hit;
  }
  try {
    return await fetch(request);
  } catch (error) {
    if (request.mode !== 'navigate') throw error;
    const lang = url.pathname.split('/')[1];
    const offlineUrl = CONFIG.offline[lang] || Object.values(CONFIG.offline)[0];
    const page = state.cache && await (await caches.open(state.cache)).match(offlineUrl);
    return page || new Response('You are offline and this page is not saved on this phone.', {
      status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    });
  }
}
