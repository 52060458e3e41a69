// The outbox: field reports kept in IndexedDB until the server confirms it has them.
// A classic script, shared by the pages and the service worker (Background Sync).
(function (scope) {
  const DB_NAME = 'frontline';
  const STORE = 'outbox';
  const channel = 'BroadcastChannel' in scope ? new BroadcastChannel('frontline-outbox') : null;
  const listeners = [];
  let draining = null;
  let forceAgain = false;

  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function run(mode, work) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const result = work(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  const all = () => run('readonly', (store) => store.getAll());
  const get = (id) => run('readonly', (store) => store.get(id));
  function changed() {
    for (const listener of listeners) listener();
    if (channel) channel.postMessage('changed');
  }

  async function put(entry) {
    await run('readwrite', (store) => store.put(entry));
    changed();
  }

  async function remove(id) {
    await run('readwrite', (store) => store.delete(id));
    changed();
  }

  // A report joins the outbox before anything is sent: closing the browser loses nothing.
  async function add(report) {
    await put({ id: report.id, report, state: 'waiting', attempts: 0, nextAt: 0, savedAt: Date.now() });
  }

  function backoff(attempts) {
    const seconds = Math.min(2 ** attempts, 300);
    return Date.now() + seconds * 1000 * (0.75 + Math.random() / 2);
  }

  async function sendOne(entry) {
    entry.state = 'sending';
    await put(entry);
    let response;
    try {
      response = await fetch('/api/v1/feedback', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(entry.report),
        credentials: 'omit',
      });
    } catch (error) {
      // No answer: the server may or may not have it. The same id, sent again, is stored once.
      entry.state = 'waiting';
      entry.attempts += 1;
      entry.nextAt = backoff(entry.attempts);
      await put(entry);
      return false;
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 200 || response.status === 201) {
      entry.state = 'delivered';
      entry.receivedAt = body.received_at;
    } else if (response.status === 429 || response.status >= 500) {
      const wait = Number(response.headers.get('Retry-After'));
      entry.state = 'waiting';
      entry.attempts += 1;
      entry.nextAt = wait ? Date.now() + wait * 1000 : backoff(entry.attempts);
    } else {
      entry.state = 'refused';
      entry.reason = body.detail || `HTTP ${response.status}`;
    }
    await put(entry);
    return entry.state === 'delivered';
  }

  async function pass(now) {
    for (const entry of await all()) {
      if (scope.navigator && scope.navigator.onLine === false) return;
      const due = entry.state === 'sending' || (entry.state === 'waiting' && (now || entry.nextAt <= Date.now()));
      if (due) await sendOne(entry);
    }
  }

  // Send every report that is due (every waiting one when `now` is true); resolve to the
  // number still waiting. A call during a run joins it, and a forced call makes it go again.
  function drain(now) {
    if (draining) {
      forceAgain = forceAgain || Boolean(now);
      return draining;
    }
    draining = (async () => {
      let force = Boolean(now);
      do {
        forceAgain = false;
        await pass(force);
        force = true;
      } while (forceAgain);
      return (await all()).filter((entry) => entry.state === 'waiting' || entry.state === 'sending').length;
    })().finally(() => { draining = null; });
    return draining;
  }

  // Called on every change, made here or in another page or the service worker.
  function onChange(listener) {
    listeners.push(listener);
    if (channel) channel.addEventListener('message', () => listener());
  }

  scope.FrontlineOutbox = { add, all, get, put, remove, drain, onChange };
})(self);
