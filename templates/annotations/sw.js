// Unity's service worker: caches static assets only. Media (/media/) and API answers (/api/)
// are never cached: they are private and change with every task.
const STATIC_PREFIX = {{ static_prefix_json|safe }};
const ASSETS = {{ assets_json|safe }};
const CACHE = "unity-static-v1";
// Hashed names (collectstatic's manifest storage) never change: cache first. Others: network first.
const HASHED = /\.[0-9a-f]{12}\.[a-z0-9]+$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(STATIC_PREFIX)) return;
  if (HASHED.test(url.pathname)) {
    event.respondWith(
      caches.match(request).then((hit) => hit || fetch(request).then((response) => store(request, response))),
    );
  } else {
    event.respondWith(fetch(request).then((response) => store(request, response)).catch(() => caches.match(request)));
  }
});

function store(request, response) {
  if (response.ok) {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}
