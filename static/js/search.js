// Search as you type over the role pack's index: works with no network once the role is saved.

const input = document.getElementById('q');
const results = document.getElementById('results');
const { lang } = document.body.dataset;
const params = new URLSearchParams(location.search);
const role = params.get('role') || localStorage.getItem('frontline:role');
let index = null;

const words = (text) => text.toLocaleLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
const count = (text, word) => text.split(word).length - 1;

function score(entry, query) {
  const title = entry.title.toLocaleLowerCase();
  const rest = `${entry.text} ${entry.context}`.toLocaleLowerCase();
  let total = 0;
  for (const word of query) {
    if (!title.includes(word) && !rest.includes(word)) return 0;
    total += 3 * count(title, word) + count(rest, word);
  }
  return total;
}

function find(entries, query) {
  return entries.map((entry) => [score(entry, query), entry]).filter(([s]) => s > 0)
    .sort((a, b) => b[0] - a[0]).slice(0, 50).map(([, entry]) => entry);
}

function link(entry) {
  const item = document.createElement('li');
  const anchor = document.createElement('a');
  anchor.href = entry.url;
  anchor.textContent = entry.title;
  item.append(anchor);
  if (entry.context) {
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = entry.context;
    item.append(document.createElement('br'), meta);
  }
  return item;
}

function show(text) {
  const query = words(text).slice(0, 10);
  const items = query.length ? find(index.items, query) : [];
  const terms = query.length ? find(index.terms, query) : [];
  const summary = document.createElement('p');
  summary.id = 'result-count';
  summary.textContent = results.dataset.count.replace('{items}', items.length).replace('{terms}', terms.length);
  const list = document.createElement('ul');
  list.className = 'results';
  list.append(...items.map(link), ...terms.map(link));
  results.replaceChildren(...(query.length ? [summary, list] : []));
}

async function start() {
  if (!results || !role) return;
  const response = await fetch(`/api/v1/search-index?role=${encodeURIComponent(role)}&lang=${encodeURIComponent(lang)}`);
  if (!response.ok) return;
  index = await response.json();
  input.value = params.get('q') || input.value;
  input.addEventListener('input', () => show(input.value));
  show(input.value);
}

start();
