// Install help: the browser's own prompt where it offers one, a short hint on iPhone and iPad.

const panel = document.getElementById('install');
const button = panel.querySelector('button');
const hint = panel.querySelector('p');
const standalone = matchMedia('(display-mode: standalone)').matches || navigator.standalone;
let offer = null;

window.addEventListener('beforeinstallprompt', (event) => {
  event.preventDefault();
  offer = event;
  panel.hidden = false;
  button.hidden = false;
});

button.addEventListener('click', async () => {
  if (!offer) return;
  offer.prompt();
  await offer.userChoice;
  offer = null;
  panel.hidden = true;
});

window.addEventListener('appinstalled', () => { panel.hidden = true; });

const iOS = /iPhone|iPad|iPod/.test(navigator.userAgent) && !window.MSStream;
if (iOS && !standalone) {
  panel.hidden = false;
  button.hidden = true;
  hint.hidden = false;
}
