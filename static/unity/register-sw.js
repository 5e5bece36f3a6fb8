// Registers the service worker (static assets only; see /sw.js).
const script = document.querySelector("script[data-sw]");
if (script && "serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register(script.dataset.sw, { scope: "/" }).catch(() => {});
}
