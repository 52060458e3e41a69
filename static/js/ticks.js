// Checklist ticks: kept on this phone per release and item, shown as progress on the role page.

const marker = document.querySelector('[data-release]');
const version = marker ? marker.dataset.release : '';
const { role } = document.body.dataset;
const storeKey = (practice) => `frontline:ticks:v${version}:${role}:${practice}`;

function load(practice) {
  try {
    return new Set(JSON.parse(localStorage.getItem(storeKey(practice)) || '[]'));
  } catch (error) {
    return new Set();
  }
}

function store(practice, ticked) {
  if (ticked.size) localStorage.setItem(storeKey(practice), JSON.stringify([...ticked]));
  else localStorage.removeItem(storeKey(practice));
}

function checklist(list) {
  const practice = list.dataset.practice;
  const ticked = load(practice);
  const progress = document.getElementById('progress');
  const items = [...list.querySelectorAll('li.item')];
  const update = () => {
    progress.textContent = progress.dataset.text.replace('{done}', ticked.size).replace('{total}', items.length);
    progress.parentElement.hidden = false;
    progress.hidden = false;
    document.getElementById('clear-ticks').hidden = ticked.size === 0;
  };
  for (const item of items) {
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'tick';
    box.checked = ticked.has(item.id);
    box.setAttribute('aria-label', `${list.dataset.tickLabel}: ${item.querySelector('.action').textContent}`);
    box.addEventListener('change', () => {
      if (box.checked) ticked.add(item.id); else ticked.delete(item.id);
      item.classList.toggle('done', box.checked);
      store(practice, ticked);
      update();
    });
    item.classList.toggle('done', box.checked);
    item.prepend(box);
  }
  document.getElementById('clear-ticks').addEventListener('click', () => {
    ticked.clear();
    store(practice, ticked);
    for (const box of list.querySelectorAll('input.tick')) box.checked = false;
    for (const item of items) item.classList.remove('done');
    update();
  });
  update();
}

function rolePage(list) {
  for (const link of list.querySelectorAll('a[data-practice]')) {
    const done = load(link.dataset.practice).size;
    if (!done) continue;
    const badge = document.createElement('span');
    badge.className = 'progress';
    badge.textContent = list.dataset.progress.replace('{done}', done).replace('{total}', link.dataset.count);
    link.querySelector('.meta').append(' · ', badge);
  }
}

const list = document.querySelector('ol.checklist');
if (list && role) checklist(list);
const practices = document.querySelector('ol.practices');
if (practices && role) rolePage(practices);
